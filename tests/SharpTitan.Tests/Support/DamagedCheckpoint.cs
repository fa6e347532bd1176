using SharpTitan.Checkpoint;
using SharpTitan.Models.Llama3;
using static TorchSharp.torch;

namespace SharpTitan.Tests.Support;

/// <summary>Loading a damaged checkpoint must fail before anything is copied into the model.</summary>
public static class DamagedCheckpoint
{
    /// <summary>
    /// Loads a damaged checkpoint into a model filled with 7s: rethrows the load's error after checking that every
    /// parameter is still exactly 7 (data is staged and verified before anything is copied).
    /// </summary>
    public static void LoadAndCheckUntouched(string step)
    {
        using var model = new Transformer(ModelFlavors.Llama3["tiny"] with { VocabSize = 259, MaxSeqLen = 32 });
        using var scope = NewDisposeScope();
        foreach (var p in model.parameters()) using (no_grad()) p.fill_(7f);
        var pieces = TrainingState.Pieces(model);
        var shapes = model.named_parameters().ToDictionary(p => TrainingState.Model + p.name, p => p.parameter.shape);
        var e = Assert.ThrowsAny<Exception>(() => CheckpointReader.Load(step, shapes, [TrainingState.Model], pieces, new SharpTitan.Distributed.SingleProcessGroup()));
        foreach (var p in model.parameters()) Assert.True(p.eq(7f).all().item<bool>(), "a parameter was changed by a failed load");
        throw e;
    }
}
