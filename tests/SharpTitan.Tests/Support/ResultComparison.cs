namespace SharpTitan.Tests.Support;

/// <summary>
/// Compares two training runs (see <see cref="TinyRun"/> for what a run leaves): losses, gradient norms and
/// validation losses per step within a relative tolerance, final parameters per tensor within a tolerance of the
/// tensor's largest value. A tolerance of 0 asks for bit-identical values. Each check returns the worst
/// agreement it measured, for the test's output.
/// </summary>
public static class ResultComparison
{
    /// <summary>Bounds for <see cref="AssertSameRun"/>; a null bound leaves that series out.</summary>
    public sealed record Tolerances(double Loss, double? Parameters, double? GradNorm = null, double? Validation = null);

    /// <summary>The worst relative differences measured by <see cref="AssertSameRun"/> (null: not compared).</summary>
    public sealed record Agreement(double Loss, double? Parameters, double? GradNorm, double? Validation)
    {
        public override string ToString() =>
            $"worst relative difference: loss {Loss:E2}" + (Parameters is { } p ? $", parameters {p:E2}" : "") +
            (GradNorm is { } g ? $", grad norm {g:E2}" : "") + (Validation is { } v ? $", validation loss {v:E2}" : "");
    }

    /// <summary>Losses, parameters, and (where bounded) logged gradient norms and validation losses of two runs.</summary>
    public static Agreement AssertSameRun(string referenceDump, string dump, Tolerances tolerances)
    {
        double loss = AssertClose(TinyRun.Losses(referenceDump), TinyRun.Losses(dump), tolerances.Loss, "loss at step");
        double? gradNorm = tolerances.GradNorm is { } g
            ? AssertClose(TinyRun.Metric(referenceDump, "grad_norm"), TinyRun.Metric(dump, "grad_norm"), g, "logged step: grad norm at")
            : null;
        double? validation = tolerances.Validation is { } v
            ? AssertClose(TinyRun.Metric(referenceDump, "validation_loss"), TinyRun.Metric(dump, "validation_loss"), v, "validation loss")
            : null;
        double? parameters = tolerances.Parameters is { } p
            ? AssertSameParameters(TinyRun.Parameters(referenceDump), TinyRun.Parameters(dump), p)
            : null;
        return new Agreement(loss, parameters, gradNorm, validation);
    }

    /// <summary>Every step's loss of two runs within a relative tolerance; the step counts must match.</summary>
    public static double AssertSameLosses(string referenceDump, string dump, double relativeTolerance) =>
        AssertClose(TinyRun.Losses(referenceDump), TinyRun.Losses(dump), relativeTolerance, "loss at step");

    /// <summary>Losses within a relative tolerance and final parameters within max |diff| / max |param| (0 = bit for bit).</summary>
    public static void AssertSame(double[] expectedLosses, double[] actualLosses,
        Dictionary<string, float[]> expectedParameters, Dictionary<string, float[]> actualParameters,
        double lossTolerance, double paramTolerance)
    {
        AssertClose(expectedLosses, actualLosses, lossTolerance, "loss");
        AssertSameParameters(expectedParameters, actualParameters, paramTolerance);
    }

    /// <summary>
    /// Same length, and each value within <paramref name="relativeTolerance"/> x |expected|; returns the largest
    /// |diff| / |expected| (0 when everything is equal). Messages name the 1-based position after <paramref name="what"/>.
    /// </summary>
    public static double AssertClose(IReadOnlyList<double> expected, IReadOnlyList<double> actual, double relativeTolerance, string what)
    {
        Assert.Equal(expected.Count, actual.Count);
        double worst = 0;
        for (int i = 0; i < expected.Count; i++)
        {
            double diff = Math.Abs(actual[i] - expected[i]), scale = Math.Abs(expected[i]);
            Assert.True(diff <= relativeTolerance * scale, $"{what} {i + 1}: {actual[i]:R} vs reference {expected[i]:R}");
            worst = Math.Max(worst, diff == 0 ? 0 : diff / scale);
        }
        return worst;
    }

    /// <summary>
    /// Same parameter names and sizes; per tensor, max |diff| within tolerance x max |reference value|. Returns the
    /// largest max |diff| / max |value| over the tensors.
    /// </summary>
    public static double AssertSameParameters(Dictionary<string, float[]> expected, Dictionary<string, float[]> actual, double tolerance)
    {
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        double worst = 0;
        foreach (var (name, a) in expected)
        {
            var b = actual[name];
            Assert.Equal(a.Length, b.Length);
            double scale = a.Max(x => Math.Abs(x)), diff = a.Zip(b).Max(t => Math.Abs(t.First - t.Second));
            Assert.True(diff <= tolerance * scale, $"{name}: max |diff| {diff:E3} vs max |param| {scale:E3}");
            worst = Math.Max(worst, diff == 0 ? 0 : diff / scale);
        }
        return worst;
    }
}
