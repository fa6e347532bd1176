using SharpTitan.Tests.Distributed;
using static SharpTitan.Tests.Checkpoint.CheckpointRuns;
using static SharpTitan.Tests.Support.ResultComparison;

namespace SharpTitan.Tests.Checkpoint;

/// <summary>
/// A 20-step run against a run that starts from the first run's step-10 checkpoint (as if killed after step
/// 10) and trains steps 11-20: same layout gives the same losses and parameters bit for bit (fp32); another
/// layout (resharding) matches within FSDP's reduction-order tolerance (as FsdpEquivalenceTests measured:
/// ~1e-7 relative on losses).
/// </summary>
[Collection(MpiCollection.Name)]
public class CheckpointResumeTests
{
    private const double LossTolerance = 1e-5, ParamTolerance = 2e-5;

    private static void AssertResumed(string full, string resumed, double lossTolerance, double paramTolerance) =>
        AssertSame(Losses(full)[10..], Losses(resumed), Parameters(full), Parameters(resumed), lossTolerance, paramTolerance);

    [Fact]
    public void SingleProcessResumesBitForBit()
    {
        var full = Train(1, 20);
        var resumed = Train(1, 20, Step(full, 10));
        AssertResumed(full, resumed, 0, 0); // 10 losses: the resumed run trained steps 11-20 only
    }

    /// <summary>bf16 compute on a copy (master_copy): the fp32 masters are what is saved and restored.</summary>
    [Fact]
    public void SingleProcessMixedPrecisionResumesBitForBit()
    {
        string[] bf16 = ["--training.mixed_precision_param", "bfloat16"];
        var full = Train(1, 20, null, bf16);
        var resumed = Train(1, 20, Step(full, 10), bf16);
        AssertResumed(full, resumed, 0, 0);
        var meta = SharpTitan.Checkpoint.CheckpointMetadata.Read(Path.Combine(Step(full, 10), "metadata.json"));
        Assert.All(meta.Tensors.Where(t => t.Name.StartsWith("model.")), t => Assert.Equal("float32", t.Dtype));
    }

    [Fact]
    public void Fsdp2ResumesBitForBitAndReshardsToOneRankAndBack()
    {
        var fsdp = Train(2, 20);
        var resumed = Train(2, 20, Step(fsdp, 10));
        AssertResumed(fsdp, resumed, 0, 0);

        // FSDP 2 -> 1 rank: the continuation matches the FSDP run within FSDP's tolerance.
        var single = Train(1, 20, Step(fsdp, 10));
        AssertResumed(fsdp, single, LossTolerance, ParamTolerance);

        // 1 rank -> FSDP 2, from the single-process run's own step-15 checkpoint.
        var back = Train(2, 20, Step(single, 15));
        AssertSame(Losses(single)[5..], Losses(back), Parameters(single), Parameters(back), LossTolerance, ParamTolerance);
    }

    [Fact]
    public void Fsdp4ReshardsToFsdp2()
    {
        var four = Train(4, 10);
        var two = Train(2, 10, Step(four, 5));
        AssertSame(Losses(four)[5..], Losses(two), Parameters(four), Parameters(two), LossTolerance, ParamTolerance);
        // Four ranks wrote four shard files; the metadata splits e.g. the embedding across them.
        Assert.Equal(4, Directory.GetFiles(Step(four, 5), "shard-*.bin").Length);
    }

    [Fact]
    public void Fsdp2AsyncSaveWritesTheSameShardsAsSyncSave()
    {
        var sync = Train(2, 10);
        var background = Train(2, 10, null, "--checkpoint.async_mode", "async");
        foreach (int step in new[] { 5, 10 })
        {
            var a = SharpTitan.Checkpoint.CheckpointMetadata.Read(Path.Combine(Step(sync, step), "metadata.json"));
            var b = SharpTitan.Checkpoint.CheckpointMetadata.Read(Path.Combine(Step(background, step), "metadata.json"));
            Assert.Equal(a.Files.Where(f => f.Name.StartsWith("shard-")), b.Files.Where(f => f.Name.StartsWith("shard-")));
        }
        Assert.Equal(Losses(sync), Losses(background));
    }
}
