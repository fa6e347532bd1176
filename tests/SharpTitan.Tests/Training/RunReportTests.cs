using SharpTitan.Tests.Support;
using SharpTitan.Training;

namespace SharpTitan.Tests.Training;

/// <summary>What a run prints about itself: the `training:` line at the start and the summary at the end.</summary>
public class RunReportTests
{
    public RunReportTests() => TestSetup.Torch();

    [Theory]
    [InlineData(new[] { "--training.mixed_precision_param", "bfloat16" }, "master weights float32, compute bfloat16")]
    [InlineData(new[] { "--training.mixed_precision_param", "float32" }, "master weights float32, compute float32")]
    [InlineData(new[] { "--training.dtype", "bfloat16" }, "master weights bfloat16, compute bfloat16")]
    public void TrainingLineNamesTheMasterAndTheComputeDtype(string[] overrides, string expected)
    {
        var output = new StringWriter();
        using (new Trainer(TinyConfig.Create(steps: 1, overrides: overrides), output)) { }
        var line = output.ToString().Split('\n').Single(l => l.StartsWith("training: "));
        Assert.StartsWith($"training: {expected}, ", line);
    }
}
