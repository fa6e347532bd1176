using SharpTitan.Config;
using SharpTitan.Tests.Data;
using SharpTitan.Tests.Support;

namespace SharpTitan.Tests.Config;

/// <summary>torchtitan's command-line spellings: --job.config_file, hyphenated keys, --section.no-flag, model.hf_assets_path.</summary>
public class TorchtitanFormsTests
{
    private static string DebugToml => Path.Combine(TestSetup.RepoRoot, "configs", "debug_model.toml");

    private static string PrintedConfig(params string[] args)
    {
        var r = InProcessCli.Run(["config", .. args, .. TinyConfig.Arguments()]);
        Assert.True(r.Code == 0, r.Err);
        return r.Out;
    }

    [Theory]
    [InlineData("--job.config_file={0}")]
    [InlineData("--job.config_file", "{0}")]
    [InlineData("--job.config-file", "{0}")]
    [InlineData("--config={0}")]
    [InlineData("--config", "{0}")]
    public void JobConfigFileNamesTheConfigFile(params string[] form)
    {
        string printed = PrintedConfig([.. form.Select(f => string.Format(System.Globalization.CultureInfo.InvariantCulture, f, DebugToml))]);
        Assert.Contains("description = \"Llama 3 debug training\"", printed); // from the file, not the default "default job"
    }

    [Fact]
    public void AConfigFileGivenTwiceCountsOnceTheLastOne()
    {
        string llama8b = Path.Combine(TestSetup.RepoRoot, "configs", "llama3_8b.toml");
        string printed = PrintedConfig("--config", llama8b, "--job.config_file", DebugToml, "--training.max_norm", "0.25");
        Assert.Contains("description = \"Llama 3 debug training\"", printed);
        Assert.Contains("\nmax_norm = 0.25\n", printed); // the overrides after it still apply
    }

    [Fact]
    public void AConfigFileThatIsMissingIsNamedWhateverTheSpelling()
    {
        var r = InProcessCli.Run("config", "--job.config_file=/no/such.toml");
        Assert.Equal(2, r.Code);
        Assert.Equal("sharptitan config: error: config file not found: /no/such.toml", r.Err.Trim());
    }

    [Fact]
    public void HyphensMayReplaceUnderscores()
    {
        var hyphens = ConfigLoader.Load(null, ["--training.local-batch-size", "4", "--lr-scheduler.warmup-steps=3", "--metrics.enable-tensorboard"]);
        Assert.Equal((4, 3, true), (hyphens.Training.LocalBatchSize, hyphens.LrScheduler.WarmupSteps, hyphens.Metrics.EnableTensorboard));
        Assert.Contains("max_norm = 0.5", PrintedConfig("--training.max-norm", "0.5"));
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Load(null, ["--training.local-batch-sise", "4"]));
        Assert.Contains("unknown key 'training.local_batch_sise' (did you mean 'training.local_batch_size'?)", e.Message);
    }

    [Fact]
    public void NoFlagSetsABooleanFalse()
    {
        var c = ConfigLoader.Load(null, ["--checkpoint.enable", "--checkpoint.no-enable", "--metrics.no_enable_tensorboard"]);
        Assert.False(c.Checkpoint.Enable);
        Assert.False(c.Metrics.EnableTensorboard);
        Assert.True(ConfigLoader.Load(null, ["--checkpoint.no-enable", "--checkpoint.enable"]).Checkpoint.Enable); // the last one wins
        Assert.Contains("[checkpoint]\nenable = false", PrintedConfig("--checkpoint.enable", "--checkpoint.no-enable"));
    }

    [Theory]
    [InlineData("--checkpoint.no-enable=true", "--checkpoint.no-enable takes no value")]
    [InlineData("--training.no-steps", "unknown key 'training.no_steps'")] // not a flag: no `no-` form
    public void NoFormsThatMeanNothingAreErrors(string arg, string message)
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Load(null, [arg]));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void HfAssetsPathGivesTheTokenizerWhenTokenizerPathIsUnset()
    {
        using var dir = new TempDir();
        File.Copy(SharedData.TestTiktoken, dir.File("tokenizer.model"));
        var c = ConfigLoader.Load(null, ["--model.hf_assets_path", dir.Path]);
        Assert.Equal(dir.File("tokenizer.model"), ModelAssets.TokenizerPath(c.Model));
        File.Copy(Path.Combine(TestSetup.RepoRoot, "assets", "tokenizer", "byte_tokenizer.json"), dir.File("tokenizer.json"));
        Assert.Equal(dir.File("tokenizer.json"), ModelAssets.TokenizerPath(c.Model)); // tokenizer.json first, as torchtitan
        c.Model.TokenizerPath = "cl100k_base";
        Assert.Equal("cl100k_base", ModelAssets.TokenizerPath(c.Model)); // an explicit tokenizer_path wins
        Assert.Equal(ModelAssets.DefaultTokenizer, ModelAssets.TokenizerPath(new JobConfig().Model));
    }

    [Fact]
    public void TrainingUsesTheTokenizerInHfAssetsPath()
    {
        using var dir = new TempDir();
        File.Copy(SharedData.TestTiktoken, dir.File("tokenizer.model"));
        var config = TinyConfig.Create(overrides: ["--model.hf_assets_path", dir.Path]);
        config.Model.TokenizerPath = null; // TinyConfig names the byte-level tokenizer
        var plan = SharpTitan.Training.JobCheck.Run(config, worldSize: 1);
        Assert.Equal(SharpTitan.Data.TokenizerLoader.Load(SharedData.TestTiktoken).VocabSize, plan.ModelArgs.VocabSize);
        Assert.NotEqual(259, plan.ModelArgs.VocabSize); // not the byte-level default
    }

    [Fact]
    public void AnHfAssetsPathWithoutATokenizerIsAOneLineError()
    {
        using var dir = new TempDir();
        var r = InProcessCli.Run("config", "--training.dataset", "sample", "--model.hf_assets_path", dir.Path);
        Assert.Equal(2, r.Code);
        Assert.StartsWith($"sharptitan config: error: model.hf_assets_path: no tokenizer in {dir.Path}", r.Err.Trim());
        r = InProcessCli.Run("config", "--training.dataset", "sample", "--model.hf_assets_path", "/no/such/folder");
        Assert.Equal("sharptitan config: error: model.hf_assets_path: folder not found: /no/such/folder", r.Err.Trim());
    }
}
