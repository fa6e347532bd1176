using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using SharpTitan.Checkpoint;
using SharpTitan.Models.Llama3;
using SharpTitan.Tests.Distributed;
using SharpTitan.Tests.Support;
using SharpTitan.Training;
using static TorchSharp.torch;

namespace SharpTitan.Tests.Checkpoint;

/// <summary>metadata.json is checked before any byte is copied: its own checksum, and chunks that tile tensors and files.</summary>
public partial class CheckpointIntegrityTests
{
    public CheckpointIntegrityTests() => TestSetup.Torch();

    [GeneratedRegex("\"offset\": (\\d+)")] private static partial Regex OffsetField();

    /// <summary>A 2-step single-process run with a full checkpoint at step 2; returns the dump folder and the step folder.</summary>
    private static (string Dump, string Step, string[] Args) Saved(string name)
    {
        var dump = TestSetup.TempDir(name);
        string[] args = ["--checkpoint.enable", "--checkpoint.interval", "2", "--checkpoint.last_save_model_only", "false", "--job.dump_folder", dump];
        using (var t = new Trainer(TinyConfig.Create(steps: 2, overrides: args), TextWriter.Null)) t.Run();
        return (dump, CheckpointFolder.StepPath(Path.Combine(dump, "checkpoint"), 2), args);
    }

    /// <summary>The metadata text with the second chunk of shard-0.bin moved one fp32 element on (the silent shift).</summary>
    private static string ShiftOneOffset(string text)
    {
        var second = OffsetField().Matches(text).Select(m => long.Parse(m.Groups[1].Value)).Where(o => o > ShardFile.Magic.Length).Min();
        var shifted = Regex.Replace(text, $"\"offset\": {second}(?!\\d)", $"\"offset\": {second + 4}");
        Assert.NotEqual(text, shifted);
        return shifted;
    }

    [Fact]
    public void AChangedChunkOffsetFailsTheMetadataChecksumAndNothingIsLoaded()
    {
        var (_, step, _) = Saved("meta-sum");
        var path = Path.Combine(step, CheckpointMetadata.FileName);
        var text = File.ReadAllText(path);
        Assert.Contains($"\"version\": {CheckpointMetadata.CurrentVersion}", text);
        File.WriteAllText(path, ShiftOneOffset(text));
        var e = Assert.Throws<InvalidDataException>(() => DamagedCheckpoint.LoadAndCheckUntouched(step));
        Assert.Contains($"{path} fails its checksum", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void AVersion2CheckpointStillLoadsAndAShiftedOffsetInItIsRefusedByTheLayoutCheck()
    {
        var (_, step, _) = Saved("meta-v2");
        var path = Path.Combine(step, CheckpointMetadata.FileName);
        var expected = CheckpointReader.ReadModel(step);
        // Version 2 as an older build wrote it: no metadata_sha256.
        var node = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        node["version"] = 2;
        node.Remove("metadata_sha256");
        var v2 = node.ToJsonString(CheckpointMetadata.Json);
        File.WriteAllText(path, v2);
        var loaded = CheckpointReader.ReadModel(step);
        Assert.Equal(expected.Keys.Order(), loaded.Keys.Order());
        foreach (var (name, value) in expected) Assert.True(value.eq(loaded[name]).all().item<bool>(), name);

        File.WriteAllText(path, ShiftOneOffset(v2));
        var e = Assert.Throws<InvalidDataException>(() => DamagedCheckpoint.LoadAndCheckUntouched(step));
        Assert.StartsWith($"{path}: tensor ", e.Message);
        Assert.Contains("of shard-0.bin", e.Message);
        Assert.Contains("altered or damaged", e.Message);
    }

    [Fact]
    public void ACountThatLeavesAGapIsRefusedAndTheCliPrintsOneLine()
    {
        var (_, step, args) = Saved("meta-gap");
        var path = Path.Combine(step, CheckpointMetadata.FileName);
        var node = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        node["version"] = 2; // no checksum: the layout check alone must catch it
        node.Remove("metadata_sha256");
        var chunk = node["tensors"]![0]!["chunks"]![0]!;
        chunk["count"] = chunk["count"]!.GetValue<long>() - 1;
        File.WriteAllText(path, node.ToJsonString(CheckpointMetadata.Json));
        var e = Assert.Throws<InvalidDataException>(() => DamagedCheckpoint.LoadAndCheckUntouched(step));
        Assert.StartsWith($"checkpoint {path}: tensor ", e.Message);

        var r = MpiRun.Start(MpiRun.CliPath, ["train", .. TinyConfig.Arguments(steps: 4), .. args]);
        Assert.Equal(2, r.ExitCode);
        var line = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(path, line);
    }
}
