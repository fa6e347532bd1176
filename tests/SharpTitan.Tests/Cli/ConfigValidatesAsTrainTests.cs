using SharpTitan.Tests.Support;

namespace SharpTitan.Tests.Cli;

/// <summary>`sharptitan config` refuses exactly what `sharptitan train` refuses, with the same exit code and line.</summary>
public class ConfigValidatesAsTrainTests
{
    private static string[] Job(string dump, params string[] overrides) =>
        [.. TinyConfig.Arguments(steps: 1), "--job.dump_folder", dump, .. overrides];

    [Theory]
    [InlineData("parallelism.enable_compiled_autograd is not built yet", "--parallelism.enable_compiled_autograd")]
    [InlineData("compile.enable is not built yet", "--compile.enable")]
    [InlineData("'training.device' = \"cuda\": libtorch_cuda.so was looked for next to TorchSharp.dll", "--training.device", "cuda")]
    [InlineData("training.dataset_path: not found: /no/such/data.jsonl", "--training.dataset_path", "/no/such/data.jsonl")]
    [InlineData("validation.dataset_path: not found: /no/such/valid.jsonl", "--validation.enable", "--validation.dataset_path", "/no/such/valid.jsonl")]
    [InlineData("'validation.seq_len' = 64: expected at most training.seq_len (32)", "--validation.enable", "--validation.dataset", "sample", "--validation.seq_len", "64")]
    [InlineData("model.tokenizer_path: tokenizer file not found: /no/tok.json", "--model.tokenizer_path", "/no/tok.json")]
    public void ConfigAndTrainRefuseTheSameJobWithTheSameLine(string message, params string[] overrides)
    {
        using var dump = new Data.TempDir();
        var config = InProcessCli.Run(["config", .. Job(dump.Path, overrides)]);
        var train = InProcessCli.Run(["train", .. Job(dump.Path, overrides)]);
        Assert.Equal((2, 2), (config.Code, train.Code));
        Assert.Equal($"sharptitan config: error: {message}", config.Err.Trim().Split('\n').Single()[..(26 + message.Length)]);
        Assert.Equal(config.Err.Replace("sharptitan config:", "sharptitan train:"), train.Err);
        Assert.Equal("", config.Out);
    }

    [Fact]
    public void ConfigAcceptsWhatTrainRuns()
    {
        using var dump = new Data.TempDir();
        var config = InProcessCli.Run(["config", .. Job(dump.Path)]);
        Assert.True(config.Code == 0, config.Err);
        Assert.Equal(0, InProcessCli.Run(["train", .. Job(dump.Path)]).Code);
    }
}
