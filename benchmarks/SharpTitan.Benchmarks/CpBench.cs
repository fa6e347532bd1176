using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using SharpTitan.Distributed;
using SharpTitan.Metrics;
using SharpTitan.Native;
using SharpTitan.Parallel;
using SharpTitan.Training;

namespace SharpTitan.Benchmarks;

/// <summary>
/// Context parallel on long sequences (issue 19): the debug model, batch 1, fp32, at each sequence length one process
/// against CP 2 with each rotate method, one thread per rank. Reports job tokens/s (median of the steps after the
/// first), per-rank memory and the share of attention time spent blocked on key/value transfers
/// (<see cref="ContextParallelTimes"/>). Activation memory of a rank = its peak resident memory during the measured
/// steps minus its resident memory just before the first measured step's forward (parameters, gradients and optimizer
/// state are resident then: step 1 made them). Children run with glibc's mmap threshold fixed at 256 KiB
/// (MALLOC_MMAP_THRESHOLD_), so freed activations go back to the system instead of staying in the heap and
/// inflating that baseline. CP shards the parameters over the cp ranks (FSDP); reshard after forward is `never`, as
/// the one process keeps its blocks' graphs: `default` would recompute every block but the last in backward
/// (README, FSDP), which is activation checkpointing, not context parallel.
/// </summary>
public static class CpBench
{
    public sealed record Case(string Label, int Cp, string Method, int SeqLen, int Steps, string Output);
    public sealed record Rank(double BeforeFirstStepGiB, double BaselineGiB, double PeakGiB, double ActivationGiB,
        double AttentionSeconds, double WaitSeconds);
    public sealed record Result(Case Case, double MedianStepSeconds, double JobTokensPerSecond, double TokensPerDevice,
        Rank[] Ranks, double FinalLoss, double[] StepSeconds)
    {
        /// <summary>Share of CP attention time (forward and backward) blocked on transfers, over the ranks.</summary>
        public double? WaitPercent => Case.Cp > 1 ? 100 * Ranks.Sum(r => r.WaitSeconds) / Ranks.Sum(r => r.AttentionSeconds) : null;
    }

    public static void Run(string resultsDir, int steps, int[] seqLens)
    {
        Environment.SetEnvironmentVariable("MALLOC_MMAP_THRESHOLD_", "262144");
        var results = new List<Result>();
        foreach (int seq in seqLens)
        {
            var cases = new[]
            {
                new Case($"1 process, seq {seq}", 1, "allgather", seq, steps, ""),
                new Case($"CP 2 allgather, seq {seq}", 2, "allgather", seq, steps, ""),
                new Case($"CP 2 alltoall, seq {seq}", 2, "alltoall", seq, steps, ""),
            };
            Result? baseline = null;
            foreach (var c0 in cases)
            {
                var c = c0 with { Output = Path.Combine(Path.GetTempPath(), $"cp-bench-{Guid.NewGuid():N}.json") };
                var r = CaseProcess.Run<Result>("cp-case", c.Cp, c.Label, c, c.Output);
                baseline ??= r;
                results.Add(r);
                Console.WriteLine(Row(r, baseline));
            }
        }
        var file = Path.Combine(resultsDir, "cp.json");
        File.WriteAllText(file, JsonSerializer.Serialize(new { date = DateTime.UtcNow.ToString("u"), machine = BenchConfig.Machine(), results },
            BenchConfig.IndentedJson));
        Console.WriteLine($"wrote {file}");
    }

    /// <summary>One case on this rank (under mpirun for CP); rank 0 writes the result file.</summary>
    public static void RunCase(Case c)
    {
        var world = DistributedRuntime.Initialize();
        TorchRuntime.SetThreads(1);
        var config = BenchConfig.Create("--training.dtype", "float32", "--training.mixed_precision_param", "float32",
            "--training.num_threads", "1", "--training.seq_len", c.SeqLen.ToString(),
            "--training.global_batch_size", "1", "--training.local_batch_size", "1",
            "--training.steps", c.Steps.ToString(), "--parallelism.context_parallel_degree", c.Cp.ToString(),
            "--parallelism.context_parallel_rotate_method", c.Method, "--activation_checkpoint.mode", "none",
            "--parallelism.fsdp_reshard_after_forward", "never");
        using var trainer = new Trainer(config, world.Rank == 0 ? Console.Out : TextWriter.Null, null, world);
        var steps = new List<double>();
        double loss = double.NaN, beforeFirst = ProcessMemory.RssBytes(), baseline = 0;
        var timesBefore = ContextParallelTimes.Read();
        for (int step = 1; step <= c.Steps; step++)
        {
            if (step == 2)
            {
                // Step 1 warmed up allocators and kernels and made gradients and optimizer state: measure from here.
                baseline = ProcessMemory.RssBytes();
                ProcessMemory.ResetPeakRss();
                timesBefore = ContextParallelTimes.Read();
            }
            var sw = Stopwatch.StartNew();
            loss = trainer.TrainStep(step).Loss;
            if (step > 1) steps.Add(sw.Elapsed.TotalSeconds);
        }
        var times = ContextParallelTimes.Read();
        double gib = 1L << 30, peak = ProcessMemory.WindowPeakRssBytes();
        double[] mine = [beforeFirst / gib, baseline / gib, peak / gib, (peak - baseline) / gib,
            (times.Attention - timesBefore.Attention).TotalSeconds, (times.Waiting - timesBefore.Waiting).TotalSeconds];
        using var all = TorchSharp.torch.zeros(world.Size, mine.Length, TorchSharp.torch.ScalarType.Float64);
        for (int i = 0; i < mine.Length; i++) all[world.Rank, i] = mine[i];
        world.AllReduce(all);
        double median = BenchConfig.Median(steps);
        if (world.Rank == 0)
        {
            var rows = all.data<double>().ToArray();
            var ranks = Enumerable.Range(0, world.Size).Select(r => rows.AsSpan(r * mine.Length, mine.Length).ToArray())
                .Select(v => new Rank(v[0], v[1], v[2], v[3], v[4], v[5])).ToArray();
            File.WriteAllText(c.Output, JsonSerializer.Serialize(new Result(c, median, c.SeqLen / median, c.SeqLen / median / c.Cp,
                ranks, loss, [.. steps])));
        }
        DistributedRuntime.Shutdown();
    }

    public static string Row(Result r, Result baseline) => string.Format(CultureInfo.InvariantCulture,
        "| {0} | {1:N1} | {2:N1} | {3:F2}x | {4} | {5} | {6:F0}% | {7} | {8:F4} |",
        r.Case.Label, r.JobTokensPerSecond, r.TokensPerDevice, r.JobTokensPerSecond / baseline.JobTokensPerSecond,
        string.Join(" / ", r.Ranks.Select(x => x.PeakGiB.ToString("F2", CultureInfo.InvariantCulture))),
        string.Join(" / ", r.Ranks.Select(x => x.ActivationGiB.ToString("F2", CultureInfo.InvariantCulture))),
        100 * r.Ranks.Max(x => x.ActivationGiB) / baseline.Ranks[0].ActivationGiB,
        r.WaitPercent is { } w ? $"{w:F1}%" : "-", r.FinalLoss);
}
