using SharpTitan.Config;
using SharpTitan.Float8;
using SharpTitan.Models.Llama3;
using SharpTitan.Tests.Support;
using SharpTitan.Training;
using static TorchSharp.torch;

namespace SharpTitan.Tests.Float8;

public class Float8ConverterTests
{
    public Float8ConverterTests() => TestSetup.Torch();

    private static Float8Options Options(params string[] overrides) =>
        Float8Options.From(TinyConfig.Create(overrides: ["--model.converters", "float8", .. overrides]).Float8);

    private static List<string> Converted(Transformer model) =>
        model.named_modules().Where(m => m.module is LinearLayer { Kernel: Float8LinearKernel }).Select(m => m.name).ToList();

    [Fact]
    public void EveryLinearButTheOutputProjectionBecomesFloat8ByDefault()
    {
        using var model = new Transformer(ModelFlavors.Llama3["tiny"] with { VocabSize = 259 });
        var log = new List<string>();
        using var converter = new Float8Converter(model, Options(), null, log.Add);
        var converted = Converted(model);
        Assert.Equal(14, converted.Count); // 2 layers x (wq wk wv wo w1 w2 w3)
        Assert.Contains("layers.1.feed_forward.w2", converted);
        Assert.DoesNotContain("output", converted);
        Assert.Contains("kept in high precision (float8.filter_fqns): output", Assert.Single(log));
        converter.Dispose();
        Assert.Empty(Converted(model));
    }

    [Fact]
    public void FilterFqnsExcludeLayersWhoseNameContainsThem()
    {
        using var model = new Transformer(ModelFlavors.Llama3["tiny"] with { VocabSize = 259 });
        using var converter = new Float8Converter(model, Options("--float8.filter_fqns", "output,attention.wq,layers.1.feed_forward"), null, _ => { });
        var converted = Converted(model);
        Assert.Equal(["layers.0.attention.wk", "layers.0.attention.wv", "layers.0.attention.wo", "layers.0.feed_forward.w1",
            "layers.0.feed_forward.w2", "layers.0.feed_forward.w3", "layers.1.attention.wk", "layers.1.attention.wv", "layers.1.attention.wo"], converted);
    }

    [Fact]
    public void LayersWithADimensionNotAMultipleOf16StayInHighPrecisionWithALogLine()
    {
        // multiple_of 10 makes the feed-forward hidden size 170: w1, w2, w3 cannot be float8.
        var args = ModelFlavors.Llama3["tiny"] with { VocabSize = 259, MultipleOf = 10 };
        Assert.Equal(170, args.FfnHiddenDim);
        using var model = new Transformer(args);
        var log = new List<string>();
        using var converter = new Float8Converter(model, Options(), null, log.Add);
        Assert.Equal(8, Converted(model).Count);
        Assert.Contains("float8: layers.0.feed_forward.w1 stays in high precision: its weight [170, 64] has a dimension that is not a multiple of 16", log);
        Assert.Equal(7, log.Count); // six layers, one summary
    }

    [Theory]
    [InlineData("--model.converters=float16", "'model.converters' = \"float16\": expected one of \"float8\"")]
    [InlineData("--float8.recipe_name=blockwise", "'float8.recipe_name' = \"blockwise\": expected one of")]
    public void UnknownNamesAreOneLineConfigErrors(string arg, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => TinyConfig.Create(overrides: [arg]));
        Assert.StartsWith(expected, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void FloatAllGatherNeedsTheTensorwiseRecipeAndPrecomputeNeedsTheAllGather()
    {
        var e = Assert.Throws<ConfigException>(() => Options("--float8.enable_fsdp_float8_all_gather", "--float8.recipe_name", "rowwise"));
        Assert.Equal("'float8.enable_fsdp_float8_all_gather' = true needs float8.recipe_name = \"tensorwise\" (got \"rowwise\")", e.Message);
        e = Assert.Throws<ConfigException>(() => Options("--float8.precompute_float8_dynamic_scale_for_fsdp"));
        Assert.Contains("needs float8.enable_fsdp_float8_all_gather = true", e.Message);
    }

    /// <summary>torchtitan's rule: MFU is not well-defined with float8, so the line leaves it out (tokens/s stays).</summary>
    [Fact]
    public void AFloat8RunReportsTokensPerSecondButNoMfu()
    {
        var dir = TestSetup.TempDir("float8-mfu");
        var log = new StringWriter();
        using (var trainer = new Trainer(TinyConfig.Create(steps: 2, overrides: ["--model.converters", "float8", "--job.dump_folder", dir]), log))
            trainer.Run();
        var steps = log.ToString().Split('\n').Where(l => l.StartsWith("step:")).ToList();
        Assert.Equal(2, steps.Count);
        Assert.All(steps, l => { Assert.Contains("tps: ", l); Assert.DoesNotContain("mfu", l); });
        Assert.DoesNotContain("MFU peak", log.ToString());
        var first = System.Text.Json.JsonDocument.Parse(File.ReadLines(Path.Combine(dir, "metrics.jsonl")).First()).RootElement;
        Assert.Equal(System.Text.Json.JsonValueKind.Null, first.GetProperty("mfu").ValueKind);
        Assert.True(first.GetProperty("tps").GetDouble() > 0);
    }
}
