using SharpTitan.Checkpoint;
using SharpTitan.Checkpoint.HuggingFace;
using SharpTitan.Models.Llama3;
using SharpTitan.Tests.Distributed;
using static TorchSharp.torch;
using static SharpTitan.Tests.Checkpoint.CheckpointRuns;
using static SharpTitan.Tests.Support.ResultComparison;

namespace SharpTitan.Tests.Checkpoint;

/// <summary>
/// Checkpoints of tensor-parallel runs on real mpirun ranks (tiny model; its 259-token vocabulary splits unevenly,
/// 130 + 129 rows): the same layout resumes bit for bit (fp32), and the metadata's global tensors load into other
/// layouts (TP 2 -> 1 rank, 1 rank -> TP 2, FSDP 2 x TP 2 -> TP 2), matching the run that saved them within the
/// reduction-order tolerance TensorParallelEquivalenceTests measured (~2e-7 relative on losses, ~2e-6 on parameters).
/// </summary>
[Collection(MpiCollection.Name)]
public class TensorParallelCheckpointTests
{
    private const double LossTolerance = 1e-5, ParamTolerance = 2e-5;

    [Fact]
    public void Tp2ResumesBitForBitAndReshardsToOneRankAndBack()
    {
        var tp = Train(2, 2, 20, null);
        var resumed = Train(2, 2, 20, Step(tp, 10));
        AssertSame(Losses(tp)[10..], Losses(resumed), Parameters(tp), Parameters(resumed), 0, 0);

        // The metadata describes global tensors: wo is split along dim 1 into two blocks, the embedding along dim 0
        // unevenly, and the norms (replicated) are written once, whole.
        var meta = CheckpointMetadata.Read(Path.Combine(Step(tp, 10), CheckpointMetadata.FileName));
        var wo = meta.Tensors.Single(t => t.Name == "model.layers.0.attention.wo.weight");
        Assert.Equal([[0L, 0L], [0L, wo.Shape[1] / 2]], wo.Chunks.Select(c => c.BlockOffset!));
        var emb = meta.Tensors.Single(t => t.Name == "optimizer.exp_avg.tok_embeddings.weight");
        Assert.Equal([259L, emb.Shape[1]], emb.Shape);
        Assert.Equal([130L, 129L], emb.Chunks.Select(c => c.BlockShape![0]));
        var norm = meta.Tensors.Single(t => t.Name == "model.norm.weight");
        Assert.Null(Assert.Single(norm.Chunks).Block);

        // TP 2 -> 1 rank, then 1 rank -> TP 2 from the single-process run's own step-15 checkpoint.
        var single = Train(1, 20, Step(tp, 10));
        AssertSame(Losses(tp)[10..], Losses(single), Parameters(tp), Parameters(single), LossTolerance, ParamTolerance);
        var back = Train(2, 2, 20, Step(single, 15));
        AssertSame(Losses(single)[5..], Losses(back), Parameters(single), Parameters(back), LossTolerance, ParamTolerance);
    }

    /// <summary>
    /// last_save_in_hf under TP 2 gathers the blocks into whole tensors equal to the final parameters; a TP 2 run
    /// with initial_load_in_hf takes its blocks back from that folder (lr 0, so one step leaves them unchanged).
    /// </summary>
    [Fact]
    public void Tp2LastSaveInHfRoundTrips()
    {
        Support.TestSetup.Torch();
        var dir = Train(2, 2, 3, null, "--checkpoint.last_save_model_only", "true", "--checkpoint.last_save_in_hf", "--checkpoint.interval", "100");
        var hf = Step(dir, 3);
        using var scope = NewDisposeScope();
        var imported = HfCheckpoint.Import(hf, ModelFlavors.Llama3["tiny"] with { VocabSize = 259, MaxSeqLen = 32 });
        var final = Parameters(dir);
        Assert.Equal(final.Keys.Order(), imported.Keys.Order());
        foreach (var (name, values) in final) Assert.Equal(values, imported[name].contiguous().data<float>().ToArray());

        var loaded = Train(2, 2, 1, null, "--checkpoint.initial_load_path", hf, "--checkpoint.initial_load_in_hf", "--optimizer.lr", "0");
        foreach (var (name, values) in Parameters(loaded)) Assert.Equal(final[name], values);
    }

    [Fact]
    public void Fsdp2xTp2ReshardsToTp2()
    {
        var twoD = Train(4, 2, 10, null);
        var tp = Train(2, 2, 10, Step(twoD, 5));
        AssertSame(Losses(twoD)[5..], Losses(tp), Parameters(twoD), Parameters(tp), LossTolerance, ParamTolerance);
        // Under FSDP x TP the FSDP shards are flat ranges of TP blocks: some block arrives split over two files.
        var meta = CheckpointMetadata.Read(Path.Combine(Step(twoD, 5), CheckpointMetadata.FileName));
        Assert.Contains(meta.Tensors, t => t.Chunks.Where(c => c.Block != null)
            .GroupBy(c => string.Join(",", c.BlockOffset!)).Any(g => g.Select(c => c.File).Distinct().Count() > 1));
    }
}
