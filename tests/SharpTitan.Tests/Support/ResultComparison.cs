using SharpTitan.Training;

namespace SharpTitan.Tests.Support;

/// <summary>Compares two runs' `debug.dump_results_folder` dumps: losses per step and final parameters.</summary>
public static class ResultComparison
{
    /// <summary>Every step's loss within a relative tolerance; the step count must match.</summary>
    public static void AssertSameLosses(string expectedFolder, string actualFolder, int steps, double relativeTolerance)
    {
        var (expected, actual) = (ResultDump.ReadLosses(expectedFolder), ResultDump.ReadLosses(actualFolder));
        Assert.Equal(steps, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(actual[i] - expected[i]) <= relativeTolerance * Math.Abs(expected[i]),
                $"step {i + 1}: loss {actual[i]:R} vs reference {expected[i]:R}");
    }

    /// <summary>Same parameter names and sizes; per tensor, max |diff| within tolerance x max |reference value|.</summary>
    public static void AssertSameParameters(string expectedFolder, string actualFolder, double tolerance)
    {
        var p1 = ResultDump.ReadParameters(Path.Combine(expectedFolder, "params.bin"));
        var pn = ResultDump.ReadParameters(Path.Combine(actualFolder, "params.bin"));
        Assert.Equal(p1.Keys.Order(), pn.Keys.Order());
        foreach (var (name, a) in p1)
        {
            var b = pn[name];
            Assert.Equal(a.Length, b.Length);
            double scale = a.Max(x => Math.Abs(x)), diff = a.Zip(b).Max(t => Math.Abs(t.First - t.Second));
            Assert.True(diff <= tolerance * scale, $"{name}: max |diff| {diff:E3} vs max |param| {scale:E3}");
        }
    }
}
