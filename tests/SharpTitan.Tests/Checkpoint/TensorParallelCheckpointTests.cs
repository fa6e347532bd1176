using SharpTitan.Checkpoint;
using SharpTitan.Tests.Distributed;
using static SharpTitan.Tests.Checkpoint.CheckpointRuns;

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
