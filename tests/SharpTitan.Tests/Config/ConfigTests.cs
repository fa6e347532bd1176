using SharpTitan.Config;
using SharpTitan.Tests.Support;

namespace SharpTitan.Tests.Config;

public class ConfigTests
{
    private static string Configs(string name) => Path.Combine(TestSetup.RepoRoot, "configs", name);

    private static string WriteToml(string text)
    {
        var path = Path.Combine(TestSetup.TempDir("config"), "job.toml");
        File.WriteAllText(path, text);
        return path;
    }

    [Theory]
    [InlineData("debug_model.toml")]
    [InlineData("llama3_1b.toml")]
    [InlineData("llama3_8b.toml")]
    [InlineData("llama3_70b.toml")]
    [InlineData("llama3_405b.toml")]
    public void ShippedConfigsParseAndValidate(string file)
    {
        var c = ConfigLoader.Load(Configs(file));
        Assert.Equal(ModelName.Llama3, c.Model.Name);
    }

    [Fact]
    public void DebugConfigHasTorchtitansDebugValues()
    {
        var c = ConfigLoader.Load(Configs("debug_model.toml"));
        Assert.Equal(("debugmodel", 8, 2048, 10, 1), (c.Model.Flavor, c.Training.LocalBatchSize, c.Training.SeqLen, c.Training.Steps, c.Metrics.LogFreq));
    }

    [Fact]
    public void EightBConfigHasTorchtitansValues()
    {
        var c = ConfigLoader.Load(Configs("llama3_8b.toml"));
        Assert.Equal(("8B", 3e-4, 8192, 1000), (c.Model.Flavor, c.Optimizer.Lr, c.Training.SeqLen, c.Training.Steps));
    }

    [Fact]
    public void OverridesTakeBothFormsFlagsAndLists()
    {
        var c = ConfigLoader.Load(Configs("debug_model.toml"),
            ["--training.steps", "20", "--metrics.log_freq=5", "--metrics.enable_tensorboard", "--checkpoint.enable=false",
             "--model.converters", "float8", "--float8.filter_fqns=output,layers.0.attention.wq", "--lr_scheduler.decay_ratio", "none",
             "--optimizer.lr", "1e-3"]);
        Assert.Equal(20, c.Training.Steps);
        Assert.Equal(5, c.Metrics.LogFreq);
        Assert.True(c.Metrics.EnableTensorboard);
        Assert.False(c.Checkpoint.Enable);
        Assert.Equal([ModelConverter.Float8], c.Model.Converters);
        Assert.Equal(["output", "layers.0.attention.wq"], c.Float8.FilterFqns);
        Assert.Null(c.LrScheduler.DecayRatio);
        Assert.Equal(1e-3, c.Optimizer.Lr);
    }

    [Fact]
    public void BareFlagFollowedByAnotherOptionIsTrue()
    {
        var c = ConfigLoader.Load(null, ["--metrics.enable_tensorboard", "--training.steps", "3"]);
        Assert.True(c.Metrics.EnableTensorboard);
        Assert.Equal(3, c.Training.Steps);
    }

    [Fact]
    public void PrintedConfigLoadsBackToTheSameValues()
    {
        var c = ConfigLoader.Load(Configs("llama3_8b.toml"), ["--training.steps", "7"]);
        var again = ConfigLoader.Load(WriteToml(ConfigPrinter.ToToml(c)));
        Assert.Equal(ConfigPrinter.ToToml(c), ConfigPrinter.ToToml(again));
    }

    [Theory]
    [InlineData("[trainig]\nsteps = 3\n", "unknown section [trainig] (did you mean 'training'?)")]
    [InlineData("[training]\nstep = 3\n", "unknown key 'training.step' (did you mean 'training.steps'?)")]
    [InlineData("[training]\nsteps = \"ten\"\n", "'training.steps' = \"ten\": expected an integer")]
    [InlineData("[training]\nsteps = 0\n", "'training.steps' = 0: expected a value in [1, inf]")]
    [InlineData("[training]\ndtype = \"float16\"\n", "'training.dtype' = \"float16\": expected one of \"float32\", \"bfloat16\"")]
    [InlineData("[optimizer]\nlr = true\n", "'optimizer.lr' = true: expected a number")]
    [InlineData("[model]\nflavor = \"8b\"\n", "'model.flavor' = \"8b\": expected one of")]
    [InlineData("[model]\nconverters = \"float8\"\n", "'model.converters' = \"float8\": expected a list of strings")]
    [InlineData("[activation_checkpoint]\nmode = \"selective\"\nselective_ac_option = \"x\"\n", "'activation_checkpoint.selective_ac_option' = \"x\"")]
    [InlineData("[training]\nsteps = = 3\n", "TOML syntax error")]
    [InlineData("training = 3\n", "'training' must be a [section] table")]
    public void BadFilesNameTheKeyAndWhatWasExpected(string toml, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Load(WriteToml(toml)));
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain("\n", e.Message);
    }

    [Theory]
    [InlineData(new[] { "--training.stepz", "3" }, "unknown key 'training.stepz' (did you mean 'training.steps'?)")]
    [InlineData(new[] { "--training.steps", "x" }, "'training.steps' = \"x\": expected an integer")]
    [InlineData(new[] { "--training.steps" }, "--training.steps needs a value")]
    [InlineData(new[] { "steps" }, "unexpected argument 'steps'")]
    [InlineData(new[] { "--metrics.log_freq=-2" }, "'metrics.log_freq' = -2: expected a value in [1, inf]")]
    public void BadOverridesNameTheKey(string[] args, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Load(null, args));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void MissingFileIsNamed()
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Load("/nonexistent/job.toml"));
        Assert.Contains("/nonexistent/job.toml", e.Message);
    }

    [Fact]
    public void UnbuiltFeaturesAreErrorsNotIgnored()
    {
        var c = TinyConfig.Create(overrides: ["--compile.enable"]);
        var e = Assert.Throws<ConfigException>(() => SharpTitan.Training.FeatureGate.RequireBuilt(c));
        Assert.Contains("compile.enable", e.Message);
    }
}
