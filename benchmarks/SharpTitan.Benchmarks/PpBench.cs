using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using SharpTitan.Distributed;
using SharpTitan.Metrics;
using SharpTitan.Native;
using SharpTitan.Training;

namespace SharpTitan.Benchmarks;

/// <summary>
/// Pipeline parallel on the ~100M model at the same global batch (fp32): one process with two threads against PP 2
/// (one thread per rank) with each schedule at 4 and 8 micro-batches. Reports job tokens/s (median step), per-rank
/// peak RSS, and rank 0's time waiting for the other stage against the schedule's theoretical bubble.
/// </summary>
public static partial class PpBench
{
    public sealed record Case(string Label, int Pp, string Schedule, int Microbatches, int Threads, int Batch, int SeqLen, int Steps, string Output);
    public sealed record Result(Case Case, double MedianStepSeconds, double JobTokensPerSecond, double[] PeakRssGiB,
        double? WaitPercent, double? TheoryPercent, double FinalLoss, double[] StepSeconds);

    private static Case C(string label, int pp, string schedule, int m, int threads = 1) => new(label, pp, schedule, m, threads, 8, 256, 4, "");

    public static void Run(string resultsDir)
    {
        var cases = new List<Case> { C("1 process x 2 threads", 1, "1F1B", 1, 2) };
        foreach (int m in new[] { 4, 8 })
            foreach (var s in new[] { "GPipe", "1F1B", "Interleaved1F1B" })
                cases.Add(C($"PP 2 {s}, {m} micro-batches", 2, s, m));
        RunCases(cases, Path.Combine(resultsDir, "pp.json"), null);
    }

    /// <summary>
    /// The zero-bubble schedules against 1F1B and Interleaved1F1B at 4 micro-batches (the same run, so the same load),
    /// after the in-process cost of splitting a backward (<see cref="SplitBackwardCost"/>). Short: 2 shared cores.
    /// </summary>
    public static void RunZeroBubble(string resultsDir)
    {
        var split = SplitBackwardCost.Measure();
        Console.WriteLine(SplitBackwardCost.Describe(split));
        var cases = new List<Case> { C("PP 2 1F1B, 4 micro-batches", 2, "1F1B", 4) };
        foreach (var s in new[] { "Interleaved1F1B", "InterleavedZeroBubble", "ZBVZeroBubble", "DualPipeV" })
            cases.Add(C($"PP 2 {s}, 4 micro-batches", 2, s, 4));
        RunCases(cases, Path.Combine(resultsDir, "pp-zb.json"), split);
    }

    private static void RunCases(List<Case> cases, string file, SplitBackwardCost.Result? split)
    {
        var results = new List<Result>();
        foreach (var c0 in cases)
        {
            var c = c0 with { Output = Path.Combine(Path.GetTempPath(), $"pp-bench-{Guid.NewGuid():N}.json") };
            var r = CaseProcess.Run<Result>("pp-case", c.Pp, c.Label, c, c.Output);
            results.Add(r);
            Console.WriteLine(Row(r, results[0]));
        }
        File.WriteAllText(file, JsonSerializer.Serialize(new { date = DateTime.UtcNow.ToString("u"), machine = BenchConfig.Machine(), split, results },
            BenchConfig.IndentedJson));
        Console.WriteLine($"wrote {file}");
    }

    [GeneratedRegex(@"waited ([\d.]+) s of ([\d.]+) s .*bubble is ([\d.]+)% in theory")]
    private static partial Regex WaitLine();

    /// <summary>One case on this rank (under mpirun for PP); rank 0 writes the result file.</summary>
    public static void RunCase(Case c)
    {
        var world = DistributedRuntime.Initialize();
        TorchRuntime.SetThreads(c.Threads);
        var config = BenchConfig.Create("--training.dtype", "float32", "--training.mixed_precision_param", "float32",
            "--training.num_threads", c.Threads.ToString(), "--training.seq_len", c.SeqLen.ToString(),
            "--training.global_batch_size", c.Batch.ToString(), "--training.local_batch_size", c.Batch.ToString(),
            "--training.steps", c.Steps.ToString(), "--parallelism.pipeline_parallel_degree", c.Pp.ToString(),
            "--parallelism.pipeline_parallel_schedule", c.Schedule,
            "--parallelism.pipeline_parallel_microbatch_size", (c.Batch / c.Microbatches).ToString(), "--activation_checkpoint.mode", "none");
        using var trainer = new Trainer(config, world.Rank == 0 ? Console.Out : TextWriter.Null, TrainThroughput.Wide100M, world);
        var steps = new List<double>();
        double loss = double.NaN;
        var total = Stopwatch.StartNew();
        for (int step = 1; step <= c.Steps; step++)
        {
            var sw = Stopwatch.StartNew();
            loss = trainer.TrainStep(step).Loss;
            if (step > 1) steps.Add(sw.Elapsed.TotalSeconds); // step 1 warms up allocators and kernels
        }
        var summary = string.Join("\n", trainer.Parts.Summarize(c.Steps, total.Elapsed));
        var m = WaitLine().Match(summary);
        using var rss = TorchSharp.torch.zeros(world.Size, TorchSharp.torch.ScalarType.Float64);
        rss[world.Rank] = ProcessMemory.PeakRssBytes() / (double)(1L << 30);
        world.AllReduce(rss);
        double median = BenchConfig.Median(steps);
        if (world.Rank == 0)
            File.WriteAllText(c.Output, JsonSerializer.Serialize(new Result(c, median, c.Batch * c.SeqLen / median,
                rss.data<double>().ToArray(),
                m.Success ? 100 * double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) / double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture) : null,
                m.Success ? double.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture) : null, loss, [.. steps])));
        DistributedRuntime.Shutdown();
    }

    public static string Row(Result r, Result baseline) => string.Format(CultureInfo.InvariantCulture,
        "| {0} | {1:N1} | {2:F0}% | {3} | {4} | {5} | {6:F4} |",
        r.Case.Label, r.JobTokensPerSecond, 100 * r.JobTokensPerSecond / baseline.JobTokensPerSecond,
        string.Join(" / ", r.PeakRssGiB.Select(g => g.ToString("F2", CultureInfo.InvariantCulture))),
        r.WaitPercent is { } w ? $"{w:F1}%" : "-", r.TheoryPercent is { } t ? $"{t:F1}%" : "-", r.FinalLoss);
}
