using SharpTitan.Native;

namespace SharpTitan.Tests.Training;

/// <summary>debug.deterministic reaches libtorch's global context through its exported C++ members.</summary>
public class DeterminismTests
{
    [Fact]
    public void SettingDeterminismIsReadBackFromLibtorch()
    {
        try
        {
            Determinism.Set(true);
            Assert.True(Determinism.Enabled);
            Determinism.Set(false);
            Assert.False(Determinism.Enabled);
        }
        finally { Determinism.Set(false); }
    }
}
