using SharpTitan.Tests.Distributed;
using SharpTitan.Training;

namespace SharpTitan.Tests.Parallel;

/// <summary>
/// Activation checkpointing under FSDP 2 (real mpirun): a checkpointed block recomputes with its still-gathered
/// parameters ("never" keeps them) or with re-gathered ones ("default"), through FSDP's own block function. The
/// same layout with and without AC runs the same kernels and the same collectives in the same order, so losses
/// and final parameters are bit-identical.
/// </summary>
[Collection(MpiCollection.Name)]
public class FsdpCheckpointTests
{
    private static void AssertIdentical(string expected, string actual)
    {
        Assert.Equal(File.ReadAllText(Path.Combine(expected, "losses.txt")), File.ReadAllText(Path.Combine(actual, "losses.txt")));
        var a = ResultDump.ReadParameters(Path.Combine(expected, "params.bin"));
        var b = ResultDump.ReadParameters(Path.Combine(actual, "params.bin"));
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        foreach (var (name, values) in a) Assert.True(values.SequenceEqual(b[name]), $"{name} differs");
    }

    [Theory]
    [InlineData("never", "full", "2")]
    [InlineData("never", "selective", "2")]
    [InlineData("default", "full", "2")]
    public void Fsdp2WithCheckpointingTrainsExactlyAsWithout(string reshard, string mode, string option)
    {
        string[] layout = ["--parallelism.fsdp_reshard_after_forward", reshard];
        var plain = FsdpEquivalenceTests.Train(2, layout);
        var checkpointed = FsdpEquivalenceTests.Train(2, [.. layout, "--activation_checkpoint.mode", mode,
            "--activation_checkpoint.selective_ac_option", option]);
        AssertIdentical(plain, checkpointed);
    }

    [Fact]
    public void OneProcessWithFullCheckpointingTrainsExactlyAsWithout() =>
        AssertIdentical(FsdpEquivalenceTests.Train(1, []), FsdpEquivalenceTests.Train(1, ["--activation_checkpoint.mode", "full"]));
}
