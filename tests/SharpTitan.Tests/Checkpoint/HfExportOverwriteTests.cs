using SharpTitan.Checkpoint;
using SharpTitan.Checkpoint.HuggingFace;
using SharpTitan.Cli.Commands;
using SharpTitan.Models.Llama3;
using SharpTitan.Tests.Support;
using SharpTitan.Training;
using static TorchSharp.torch;

namespace SharpTitan.Tests.Checkpoint;

/// <summary>
/// Issue 15 item 1: `convert --to hf` into a folder that holds an earlier export is refused unless --overwrite, and
/// with it the folder holds exactly the new export (no index or shard of the old one), which loads as the new weights.
/// </summary>
public class HfExportOverwriteTests
{
    public HfExportOverwriteTests() => TestSetup.Torch();

    private static (int Code, string Stderr) Convert(params string[] args)
    {
        var error = new StringWriter();
        var previous = Console.Error;
        Console.SetError(error);
        try { return (CommandLine.Run(["convert", "--to", "hf", .. args]), error.ToString()); }
        finally { Console.SetError(previous); }
    }

    [Fact]
    public void AnExportIntoAFolderWithAnEarlierOneIsRefusedWithoutOverwriteAndReplacesItWholeWithIt()
    {
        var dump = TestSetup.TempDir("hf-overwrite");
        using (var t = new Trainer(TinyConfig.Create(steps: 3, overrides: ["--checkpoint.enable", "--checkpoint.interval", "1",
                   "--checkpoint.last_save_model_only", "false", "--job.dump_folder", dump]), TextWriter.Null)) t.Run();
        string step1 = Path.Combine(dump, "checkpoint", "step-1"), step3 = Path.Combine(dump, "checkpoint", "step-3");
        var hf = Path.Combine(dump, "exports", "hf");

        Assert.Equal(0, Convert(step1, hf, "--max-shard-size", "100000").Code); // sharded, with an index
        var before = Directory.GetFiles(hf).Select(Path.GetFileName).Order().ToList();
        Assert.Contains(HfCheckpoint.IndexFile, before);

        var (code, stderr) = Convert(step3, hf);
        Assert.Equal(2, code);
        Assert.Contains("is not empty; pass --overwrite", Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
        Assert.Equal(before, Directory.GetFiles(hf).Select(Path.GetFileName).Order().ToList()); // untouched

        Assert.Equal(0, Convert(step3, hf, "--overwrite").Code); // one file: nothing of the sharded export may remain
        Assert.Equal(["config.json", "generation_config.json", HfCheckpoint.SingleFile, "tokenizer.json", "tokenizer_config.json"],
            Directory.GetFiles(hf).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList());
        Assert.Equal(["hf"], Directory.GetFileSystemEntries(Path.GetDirectoryName(hf)!).Select(Path.GetFileName).ToList()); // no temp or old folder

        using var scope = NewDisposeScope();
        var expected = CheckpointReader.ReadModel(step3);
        var loaded = HfCheckpoint.Import(hf, CheckpointModel.Open(step3).Args);
        Assert.Equal(expected.Keys.Order(), loaded.Keys.Order());
        foreach (var (name, value) in expected) Assert.True(value.shape.SequenceEqual(loaded[name].shape) && value.to(loaded[name].dtype).eq(loaded[name]).all().item<bool>(), $"{name} is not step 3's");

        File.WriteAllText(Path.Combine(dump, "a-file"), "x");
        Assert.Equal(2, Convert(step3, Path.Combine(dump, "a-file"), "--overwrite").Code);
    }
}
