using SharpTitan.Config;
using SharpTitan.Tests.Support;
using SharpTitan.Training;

namespace SharpTitan.Tests.Config;

/// <summary>
/// Keys that were accepted but read by nothing: model.print_after_conversion now logs the converted model;
/// optimizer.implementation and comm.trace_buf_size refuse what is not built, as other unbuilt features do.
/// </summary>
public class UnreadKeysTests
{
    [Theory]
    [InlineData("fused")]
    [InlineData("foreach")]
    public void OptimizerImplementationsNotBuiltAreRefused(string implementation)
    {
        var c = TinyConfig.Create(overrides: ["--optimizer.implementation", implementation]);
        var e = Assert.Throws<ConfigException>(() => FeatureGate.RequireBuilt(c));
        Assert.Equal($"optimizer.implementation = \"{implementation}\" (the one AdamW here is \"for-loop\") is not built yet in SharpTitan", e.Message);
    }

    [Fact]
    public void ForLoopOptimizerAndNoFlightRecorderAreTheDefaultsAndPass()
    {
        var c = TinyConfig.Create();
        Assert.Equal(OptimizerImplementation.ForLoop, c.Optimizer.Implementation);
        Assert.Equal(0, c.Comm.TraceBufSize);
        FeatureGate.RequireBuilt(c);
    }

    [Fact]
    public void FlightRecorderBufferIsRefused()
    {
        var c = TinyConfig.Create(overrides: ["--comm.trace_buf_size", "20000"]);
        var e = Assert.Throws<ConfigException>(() => FeatureGate.RequireBuilt(c));
        Assert.Equal("comm.trace_buf_size > 0 (the collectives' flight recorder) is not built yet in SharpTitan", e.Message);
    }

    [Fact]
    public void PrintAfterConversionLogsTheConvertedModel()
    {
        var log = new StringWriter();
        var c = TinyConfig.Create(overrides: ["--model.print_after_conversion", "--model.converters", "float8", "--float8.emulate"]);
        using (new Trainer(c, log)) { }
        string text = log.ToString();
        Assert.Contains("model after conversion: Transformer", text);
        Assert.Contains("  layers: ModuleList\n    0: TransformerBlock\n      attention: Attention\n", text.ReplaceLineEndings("\n")); // depth first
        Assert.Matches(@"\n +wq: LinearLayer \(weight \[\d+, \d+\] Float32; kernel Float8LinearKernel\)", text);
        Assert.Matches(@"\n +output: LinearLayer \(weight \[\d+, \d+\] Float32; kernel plain\)", text); // float8.filter_fqns

        log = new StringWriter();
        using (new Trainer(TinyConfig.Create(), log)) { }
        Assert.DoesNotContain("model after conversion", log.ToString());
    }
}
