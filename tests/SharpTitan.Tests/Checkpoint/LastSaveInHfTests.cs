using SharpTitan.Checkpoint;
using SharpTitan.Checkpoint.HuggingFace;
using SharpTitan.Models.Llama3;
using SharpTitan.Tests.Distributed;
using SharpTitan.Tests.Support;
using static TorchSharp.torch;

namespace SharpTitan.Tests.Checkpoint;

[Collection(MpiCollection.Name)]
public class LastSaveInHfTests
{
    /// <summary>
    /// FSDP 2 with checkpoint.last_save_in_hf: the last step is a Hugging Face folder (gathered from the shards on
    /// rank 0) holding exactly the final parameters, and resuming would not mistake it for a checkpoint.
    /// </summary>
    [Fact]
    public void Fsdp2LastSaveIsAHuggingFaceFolderWithTheFinalParameters()
    {
        TestSetup.Torch();
        var dir = CheckpointRuns.Train(2, 3, null, "--checkpoint.last_save_model_only", "true", "--checkpoint.last_save_in_hf",
            "--checkpoint.interval", "100");
        var step = CheckpointRuns.Step(dir, 3);
        Assert.True(File.Exists(Path.Combine(step, "config.json")));
        Assert.True(File.Exists(Path.Combine(step, "model.safetensors")));
        Assert.False(File.Exists(Path.Combine(step, CheckpointMetadata.FileName)));
        Assert.Empty(CheckpointFolder.CompleteSteps(Path.Combine(dir, "checkpoint")));

        using var scope = NewDisposeScope();
        var args = ModelFlavors.Llama3["tiny"] with { VocabSize = 259, MaxSeqLen = 32 };
        var imported = HfCheckpoint.Import(step, args);
        var final = CheckpointRuns.Parameters(dir);
        Assert.Equal(final.Keys.Order(), imported.Keys.Order());
        foreach (var (name, values) in final)
            Assert.Equal(values, imported[name].to(ScalarType.Float32).contiguous().data<float>().ToArray());
    }

    [Fact]
    public void LastSaveInHfNeedsModelOnly()
    {
        var e = Assert.Throws<SharpTitan.Config.ConfigException>(() => SharpTitan.Config.ConfigLoader.Load(null,
            ["--checkpoint.last_save_in_hf", "--checkpoint.last_save_model_only", "false"]));
        Assert.Contains("checkpoint.last_save_model_only", e.Message);
    }
}
