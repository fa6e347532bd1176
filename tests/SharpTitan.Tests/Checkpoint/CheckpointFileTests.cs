using SharpTitan.Checkpoint;
using SharpTitan.Models.Llama3;
using SharpTitan.Tests.Distributed;
using SharpTitan.Tests.Support;
using SharpTitan.Training;
using static TorchSharp.torch;

namespace SharpTitan.Tests.Checkpoint;

/// <summary>Atomic folders, pruning, async saves and bad input, in process on the tiny model.</summary>
public class CheckpointFileTests
{
    public CheckpointFileTests() => TestSetup.Torch();

    private static (string Dump, string[] Args) Config(string name, params string[] extra)
    {
        var dump = TestSetup.TempDir(name);
        return (dump, ["--checkpoint.enable", "--checkpoint.interval", "2", "--checkpoint.keep_latest_k", "0",
            "--checkpoint.last_save_model_only", "false", "--job.dump_folder", dump, .. extra]);
    }

    private static string Root(string dump) => Path.Combine(dump, "checkpoint");

    private static void Train(int steps, string[] args, ModelArgs? modelArgs = null)
    {
        using var t = new Trainer(TinyConfig.Create(steps: steps, overrides: args), TextWriter.Null, modelArgs);
        t.Run();
    }

    [Fact]
    public void KeepLatestKPrunesAndPartialFoldersAreNeverLoaded()
    {
        var (dump, args) = Config("prune", "--checkpoint.keep_latest_k", "2");
        Train(6, args);
        Assert.Equal([4, 6], CheckpointFolder.CompleteSteps(Root(dump)));
        // A save killed midway (temporary folder) and a step folder without metadata are not checkpoints.
        Directory.CreateDirectory(CheckpointFolder.TempPath(Root(dump), 8));
        File.WriteAllText(Path.Combine(CheckpointFolder.TempPath(Root(dump), 8), "shard-0.bin"), "partial");
        Directory.CreateDirectory(CheckpointFolder.StepPath(Root(dump), 9));
        Assert.Equal(CheckpointFolder.StepPath(Root(dump), 6), CheckpointFolder.Resolve(Root(dump), -1));
        Assert.Equal(["config.toml", "metadata.json", "shard-0.bin"], Directory.GetFiles(CheckpointFolder.StepPath(Root(dump), 6)).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void AsyncSaveWritesTheSameBytesAsSyncSave()
    {
        var (syncDump, syncArgs) = Config("sync");
        var (asyncDump, asyncArgs) = Config("async", "--checkpoint.async_mode", "async");
        Train(4, syncArgs);
        Train(4, asyncArgs);
        foreach (int step in new[] { 2, 4 })
        {
            var a = CheckpointMetadata.Read(Path.Combine(CheckpointFolder.StepPath(Root(syncDump), step), "metadata.json"));
            var b = CheckpointMetadata.Read(Path.Combine(CheckpointFolder.StepPath(Root(asyncDump), step), "metadata.json"));
            Assert.Equal(a.Files.Single(f => f.Name == "shard-0.bin").Sha256, b.Files.Single(f => f.Name == "shard-0.bin").Sha256);
        }
    }

    [Fact]
    public void MissingStepAndMissingFolderAreNamed()
    {
        var (dump, args) = Config("missing");
        Train(2, args);
        var e = Assert.Throws<FileNotFoundException>(() => Train(4, [.. args, "--checkpoint.load_step", "3"]));
        Assert.Contains("checkpoint step 3 not found", e.Message);
        Assert.Contains("complete steps: 2", e.Message);
        var d = Assert.Throws<DirectoryNotFoundException>(() => Train(2, ["--checkpoint.enable", "--checkpoint.initial_load_path", Path.Combine(dump, "nowhere"),
            "--job.dump_folder", TestSetup.TempDir("missing2")]));
        Assert.Contains("nowhere", d.Message);
    }

    [Fact]
    public void TruncatedAndAlteredShardsAreNamedAndNothingIsLoaded()
    {
        var (dump, args) = Config("corrupt");
        Train(2, args);
        var step = CheckpointFolder.StepPath(Root(dump), 2);
        var shard = Path.Combine(step, "shard-0.bin");
        var original = File.ReadAllBytes(shard);

        File.WriteAllBytes(shard, original[..^100]);
        var e = Assert.Throws<InvalidDataException>(() => DamagedCheckpoint.LoadAndCheckUntouched(step));
        Assert.Contains("shard-0.bin", e.Message);
        Assert.Contains("truncated", e.Message);

        var altered = (byte[])original.Clone();
        altered[^5] ^= 0x40; // one bit of the last tensor's data
        File.WriteAllBytes(shard, altered);
        e = Assert.Throws<InvalidDataException>(() => DamagedCheckpoint.LoadAndCheckUntouched(step));
        Assert.Contains("shard-0.bin fails its checksum", e.Message);
    }

    [Fact]
    public void ACheckpointOfAnotherModelListsTheMismatchedTensors()
    {
        var (dump, args) = Config("mismatch");
        Train(2, args);
        var wider = ModelFlavors.Llama3["tiny"] with { NLayers = 3 };
        var e = Assert.Throws<InvalidDataException>(() => Train(4, args, wider));
        Assert.Contains("does not match this model config", e.Message);
        Assert.Contains("model.layers.2.attention.wq.weight missing from the checkpoint", e.Message);
        var narrower = ModelFlavors.Llama3["tiny"] with { FfnDimMultiplier = 0.5 };
        e = Assert.Throws<InvalidDataException>(() => Train(4, args, narrower));
        Assert.Contains("model.layers.0.feed_forward.w1.weight has shape [192, 64] in the checkpoint", e.Message);
    }

    [Fact]
    public void CliPrintsOneLineErrorForADamagedCheckpoint()
    {
        var (dump, args) = Config("cli");
        Train(2, args);
        var shard = Path.Combine(CheckpointFolder.StepPath(Root(dump), 2), "shard-0.bin");
        File.WriteAllBytes(shard, File.ReadAllBytes(shard)[..1000]);
        var cli = new List<string> { "train" };
        cli.AddRange(TinyConfig.Arguments(steps: 4));
        cli.AddRange(args);
        var r = MpiRun.Start(MpiRun.CliPath, cli);
        Assert.Equal(2, r.ExitCode);
        var line = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("shard-0.bin is 1000 bytes", line);
    }
}
