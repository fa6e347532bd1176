using SharpTitan.Checkpoint;
using SharpTitan.Config;
using SharpTitan.Tests.Distributed;
using static SharpTitan.Tests.Checkpoint.CheckpointRuns;
using static SharpTitan.Tests.Support.ResultComparison;

namespace SharpTitan.Tests.Checkpoint;

/// <summary>
/// create_seed_checkpoint, exclude_from_loading and HSDP checkpoints, through the real CLI (tiny model, fp32),
/// each checked against torchtitan's semantics.
/// </summary>
[Collection(MpiCollection.Name)]
public class CheckpointKeyTests
{
    private static readonly string[] Hsdp2x2 = ["--parallelism.data_parallel_replicate_degree", "2", "--parallelism.data_parallel_shard_degree", "2"];

    /// <summary>
    /// As torchtitan: one process writes step 0 (saved as the last step is: model only by default) and trains
    /// nothing; a later run of another layout (FSDP 2) with another init seed loads it as model only (fresh
    /// optimizer, step 1 next) and so trains bit for bit as an FSDP 2 run initialized with the seed's weights.
    /// </summary>
    [Fact]
    public void SeedCheckpointFromOneProcessSeedsAnFsdp2Run()
    {
        var seed = Train(1, 10, null, "--checkpoint.create_seed_checkpoint", "--checkpoint.last_save_model_only", "true");
        Assert.Equal([0], CheckpointFolder.CompleteSteps(Path.Combine(seed, "checkpoint")));
        var meta = CheckpointMetadata.Read(Path.Combine(Step(seed, 0), CheckpointMetadata.FileName));
        Assert.True(meta.ModelOnly);
        Assert.All(meta.Tensors, t => Assert.StartsWith("model.", t.Name));
        Assert.False(Directory.Exists(Path.Combine(seed, "results"))); // no training step ran

        var seeded = Train(2, 10, Step(seed, 0), "--debug.seed", "999");
        var reference = Train(2, 10);
        AssertSame(Losses(reference), Losses(seeded), Parameters(reference), Parameters(seeded), 0, 0);

        // torchtitan asserts a single device and checkpoint.enable.
        var r = CheckpointRuns.Run(2, 1, 1, "--checkpoint.create_seed_checkpoint").Start(out _);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("checkpoint.create_seed_checkpoint runs on one process (this job has 2 ranks)", r.Output);
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Load(null, ["--checkpoint.create_seed_checkpoint"]));
        Assert.Contains("checkpoint.enable", e.Message);
    }

    /// <summary>
    /// exclude_from_loading = optimizer, lr_scheduler, dataloader: the model and the step are restored, the
    /// optimizer starts empty, the LR schedule starts over and the data from the beginning (torchtitan leaves those
    /// states at their fresh values). Steps 11-20 then train bit for bit as the first 10 steps of a run that
    /// loads the same step-10 weights as its initial model, and differ from a plain resume.
    /// </summary>
    [Fact]
    public void ExcludedStatesStartFresh()
    {
        var full = Train(1, 20);
        var excluded = Train(1, 20, Step(full, 10), "--checkpoint.exclude_from_loading", "optimizer,lr_scheduler,dataloader");
        var fresh = Train(1, 20, null, "--checkpoint.initial_load_path", Step(full, 10), "--checkpoint.initial_load_model_only");
        Assert.Equal(Losses(fresh)[..10], Losses(excluded));
        Assert.NotEqual(Losses(full)[10], Losses(excluded)[0]);
    }

    /// <summary>HSDP (replicate 2 x shard 2): the replicas' shards are written once and a resume is exact.</summary>
    [Fact]
    public void Hsdp2x2ResumesBitForBit()
    {
        var hsdp = Train(4, 10, null, Hsdp2x2);
        var resumed = Train(4, 10, Step(hsdp, 5), Hsdp2x2);
        AssertSame(Losses(hsdp)[5..], Losses(resumed), Parameters(hsdp), Parameters(resumed), 0, 0);
        var meta = CheckpointMetadata.Read(Path.Combine(Step(hsdp, 5), CheckpointMetadata.FileName));
        // Only the first replica's two ranks hold model and optimizer chunks (the others write their RNG state only).
        Assert.Equal(["shard-0.bin", "shard-1.bin"], meta.Tensors.Where(t => !t.Name.StartsWith("rng.")).SelectMany(t => t.Chunks).Select(c => c.File).Distinct().Order());
    }
}
