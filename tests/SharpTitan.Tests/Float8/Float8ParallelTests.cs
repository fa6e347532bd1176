using System.Text.RegularExpressions;
using SharpTitan.Tests.Distributed;
using SharpTitan.Tests.Support;

namespace SharpTitan.Tests.Float8;

/// <summary>
/// Float8 runs on real mpirun ranks against one process running float8 too (10 steps of the tiny model).
/// FSDP: the single process takes the same two 2-row micro-batches the two ranks take, so every activation and
/// gradient is cast with the same scale (tensorwise amaxes are per tensor, and a tensor here is one rank's
/// micro-batch); weights are cast from the same gathered values, or gathered already in float8 with scales from
/// the amax over both shards. TP: each rank casts its shard with amaxes all-reduced (max) over the TP group
/// (tensorwise: every amax; rowwise: those along a split axis), so the float8 values are the single process's. Measured: the losses are identical to the last digit (FSDP, bf16)
/// and within ~1e-7 relative (TP, fp32); the bounds (1e-5 relative losses, 2e-5 parameters, as the other
/// equivalence tests) leave room for reduction order.
/// </summary>
[Collection(MpiCollection.Name)]
public class Float8ParallelTests
{
    private const double LossTolerance = 1e-5;
    private const double ParamTolerance = 2e-5;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(180);

    private static string Train(int ranks, int tp, int localBatch, string paramDtype, params string[] overrides)
    {
        var dir = TestSetup.TempDir($"float8-{ranks}-{tp}");
        var args = new List<string>
        {
            "train", "--model.flavor", "tiny",
            "--model.tokenizer_path", Path.Combine(MpiRun.RepoRoot, "assets", "tokenizer", "byte_tokenizer.json"),
            "--training.dataset", "sample", "--training.steps", "10", "--training.seq_len", "32",
            "--training.global_batch_size", "4", "--training.local_batch_size", localBatch.ToString(),
            "--training.num_threads", "1", "--training.mixed_precision_param", paramDtype,
            "--parallelism.tensor_parallel_degree", tp.ToString(), "--model.converters", "float8",
            "--debug.seed", "1234", "--activation_checkpoint.mode", "none", "--metrics.log_freq", "5",
            "--metrics.disable_color_printing", "--lr_scheduler.warmup_steps", "2",
            "--job.dump_folder", dir, "--debug.dump_results_folder", Path.Combine(dir, "results"),
        };
        args.AddRange(overrides);
        var r = ranks == 1 ? MpiRun.Start(MpiRun.CliPath, args, Timeout) : MpiRun.Run(ranks, MpiRun.CliPath, args, Timeout);
        Assert.True(r.ExitCode == 0 && !r.TimedOut, r.Describe());
        return dir;
    }

    private static void AssertSameTraining(string reference, string dir)
    {
        ResultComparison.AssertSameLosses(Path.Combine(reference, "results"), Path.Combine(dir, "results"), 10, LossTolerance);
        ResultComparison.AssertSameParameters(Path.Combine(reference, "results"), Path.Combine(dir, "results"), ParamTolerance);
    }

    /// <summary>Rank 0's "fsdp: N bytes of parameter all-gathers per rank per step" line.</summary>
    private static long AllGatherBytesPerStep(string dir)
    {
        var m = Regex.Match(File.ReadAllText(Path.Combine(dir, "logs", "rank_0.log")), @"fsdp: ([\d,]+) bytes of parameter all-gathers");
        Assert.True(m.Success, "no all-gather byte count in rank 0's log");
        return long.Parse(m.Groups[1].Value.Replace(",", ""));
    }

    [Fact]
    public void Fsdp2Float8WithAndWithoutFloat8AllGatherMatchesOneProcess()
    {
        var reference = Train(1, 1, 2, "bfloat16");
        var bf16Gather = Train(2, 1, 2, "bfloat16");
        AssertSameTraining(reference, bf16Gather);
        var float8Gather = Train(2, 1, 2, "bfloat16", "--float8.enable_fsdp_float8_all_gather", "--float8.precompute_float8_dynamic_scale_for_fsdp");
        AssertSameTraining(reference, float8Gather);
        // The blocks' linear weights travel at 1 byte instead of 2; the root (embedding, output) stays bf16.
        long bf16Bytes = AllGatherBytesPerStep(bf16Gather), float8Bytes = AllGatherBytesPerStep(float8Gather);
        Assert.InRange((double)float8Bytes / bf16Bytes, 0.55, 0.8);
    }

    /// <summary>Rowwise amaxes are all-reduced only along a split axis (row-wise layers' inputs and weights, column-wise layers' gradients).</summary>
    [Theory]
    [InlineData("tensorwise")]
    [InlineData("rowwise")]
    public void Tp2Float8MatchesOneProcess(string recipe)
    {
        var reference = Train(1, 1, 4, "float32", "--float8.recipe_name", recipe);
        AssertSameTraining(reference, Train(2, 2, 4, "float32", "--float8.recipe_name", recipe));
    }

    /// <summary>
    /// Async TP runs the float8 kernel once per sequence piece (own rows, then each gathered piece), so a
    /// tensorwise scale comes from that piece's amax (all-reduced over the TP group) rather than the whole
    /// tensor's: the casts differ from one process's by a rounding step at most, and the run follows it within
    /// float8's own error, not bit for bit. Measured: losses within 4e-5 relative (fp32, tensorwise); the bound leaves 5x room.
    /// </summary>
    [Fact]
    public void Tp2AsyncFloat8FollowsOneProcess()
    {
        var reference = Train(1, 1, 4, "float32");
        var dir = Train(2, 2, 4, "float32", "--parallelism.enable_async_tensor_parallel");
        ResultComparison.AssertSameLosses(Path.Combine(reference, "results"), Path.Combine(dir, "results"), 10, AsyncLossTolerance);
    }

    private const double AsyncLossTolerance = 2e-4;
}
