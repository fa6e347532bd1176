using SharpTitan.Config;
using SharpTitan.Distributed;
using SharpTitan.Parallel;
using SharpTitan.Tests.Checkpoint;
using SharpTitan.Tests.Distributed;
using SharpTitan.Tests.Support;
using static TorchSharp.torch;

namespace SharpTitan.Tests.Parallel;

/// <summary>
/// Context parallel's pieces in one process: the load-balanced layout and the one-line errors (the attention blocks:
/// <see cref="ContextParallelAttentionTests"/>). Whole runs (CP 2 / 4, both rotate methods, with FSDP and AC) against one
/// process are rows of <see cref="FeatureMatrixTests"/>.
/// </summary>
[Collection(MpiCollection.Name)]
public class ContextParallelTests
{
    [Fact]
    public void RankRHoldsChunksRAndTwiceTheDegreeLessOneLessR()
    {
        Assert.Equal([0L, 1, 6, 7], new LoadBalancedLayout(2, 0).Positions(8));
        Assert.Equal([2L, 3, 4, 5], new LoadBalancedLayout(2, 1).Positions(8));
        Assert.Equal([4L, 5, 10, 11], new LoadBalancedLayout(4, 2).Positions(16));

        // Every rank's part, concatenated in rank order, is put back in global order.
        using var sequence = arange(16).view(1, 16);
        var layouts = Enumerable.Range(0, 4).Select(r => new LoadBalancedLayout(4, r)).ToList();
        using var gathered = cat(layouts.Select(l => l.Shard(sequence, 1)).ToList(), 1);
        using var restored = layouts[0].Unshard(gathered, 1);
        Assert.Equal(Enumerable.Range(0, 16).Select(i => (long)i), restored.data<long>().ToArray());
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void EveryRankHasTheSameCausalAttentionWork(int degree)
    {
        // Query-key pairs under the causal mask per rank: the attention FLOPs of the load-balanced layout.
        const int seqLen = 256;
        var pairs = Enumerable.Range(0, degree)
            .Select(r => new LoadBalancedLayout(degree, r).Positions(seqLen).Sum(p => p + 1)).ToList();
        Assert.True(pairs.Max() <= pairs.Min() * 1.01, string.Join(", ", pairs));
        Assert.Equal((long)seqLen * (seqLen + 1) / 2, pairs.Sum());
    }

    [Fact]
    public void ASequenceLengthThatDoesNotSplitIntoTwiceTheDegreeChunksIsAOneLineError()
    {
        var dims = new ParallelDims(1, 1, 2, 1, 1, 2);
        var e = Assert.Throws<ConfigException>(() => ContextParallel.Validate(dims, false, 30, null));
        Assert.Equal("training.seq_len = 30 does not divide by 2 x parallelism.context_parallel_degree = 4 (context parallel cuts each sequence into that many chunks)", e.Message);
        var validation = Assert.Throws<ConfigException>(() => ContextParallel.Validate(dims, false, 32, 18));
        Assert.StartsWith("validation.seq_len = 18 does not divide by 2 x parallelism.context_parallel_degree = 4", validation.Message);
        // Sequence parallel splits each rank's two chunks over the TP ranks again.
        var tpDims = new ParallelDims(1, 1, 2, 2, 1, 4);
        var sp = Assert.Throws<ConfigException>(() => ContextParallel.Validate(tpDims, true, 36, null));
        Assert.Equal("training.seq_len = 36 does not divide by 2 x parallelism.context_parallel_degree x tensor_parallel_degree = 8 (context parallel cuts each sequence into 2 x 2 chunks, sequence parallel each rank's part into 2)", sp.Message);
        ContextParallel.Validate(tpDims, false, 36, null);
        ContextParallel.Validate(tpDims, true, 32, null);

        var r = new TinyRun { Ranks = 2, Cp = 2, Steps = 1, Overrides = ["--training.seq_len", "30"] }.Start(out _);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("training.seq_len = 30 does not divide by 2 x parallelism.context_parallel_degree = 4", r.Output);
    }

    /// <summary>
    /// CP 2 saves FSDP shards over dp_shard_cp as pieces of global tensors: one process resumes from them, and CP 2
    /// from the one process's checkpoint, both following the run that saved within the feature matrix's bounds.
    /// (CP 2 takes the 12 rows as 2 micro-batches of 6, one process as one of 12: equal up to reduction order.)
    /// </summary>
    [Fact]
    public void ContextParallelCheckpointsLoadIntoOneProcessAndBack()
    {
        string[] cp = ["--parallelism.context_parallel_degree", "2"];
        var cp2 = CheckpointRuns.Train(2, 20, null, cp);
        var single = CheckpointRuns.Train(1, 20, CheckpointRuns.Step(cp2, 10));
        ResultComparison.AssertSame(CheckpointRuns.Losses(cp2)[10..], CheckpointRuns.Losses(single),
            CheckpointRuns.Parameters(cp2), CheckpointRuns.Parameters(single), 1e-5, 2e-5);
        var back = CheckpointRuns.Train(2, 20, CheckpointRuns.Step(single, 15), cp);
        ResultComparison.AssertSame(CheckpointRuns.Losses(single)[5..], CheckpointRuns.Losses(back),
            CheckpointRuns.Parameters(single), CheckpointRuns.Parameters(back), 1e-5, 2e-5);
    }
}
