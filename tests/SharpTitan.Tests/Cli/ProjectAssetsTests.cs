using SharpTitan.Tests.Distributed;

namespace SharpTitan.Tests.Cli;

/// <summary>The README's commands work from any folder: `--config configs/...` and the default tokenizer are found beside the program.</summary>
public class ProjectAssetsTests
{
    [Fact]
    public void TheProjectsConfigsAndTokenizerAreFoundFromAnyFolder()
    {
        using var elsewhere = new Data.TempDir();
        var config = MpiRun.Start(MpiRun.CliPath, ["config", "--config", "configs/debug_model.toml"], workingDirectory: elsewhere.Path);
        Assert.True(config.ExitCode == 0, config.Stderr);
        var train = MpiRun.Start(MpiRun.CliPath, ["train", "--config", "configs/debug_model.toml", "--training.dataset", "sample",
            "--training.steps", "1", "--training.seq_len", "32", "--training.local_batch_size", "1", "--job.dump_folder", "run",
            "--metrics.disable_color_printing"], workingDirectory: elsewhere.Path);
        Assert.True(train.ExitCode == 0, train.Stderr);
        Assert.Contains("step:     1", train.Stdout);
        Assert.True(File.Exists(Path.Combine(elsewhere.Path, "run", "metrics.jsonl")));
        // A config that is nowhere is still named as given.
        var missing = MpiRun.Start(MpiRun.CliPath, ["config", "--config", "configs/none.toml"], workingDirectory: elsewhere.Path);
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("config file not found: configs/none.toml", missing.Stderr);
    }
}
