using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using SharpTitan.Distributed;
using SharpTitan.Metrics;
using SharpTitan.Native;
using SharpTitan.Training;
using static TorchSharp.torch;

namespace SharpTitan.Benchmarks;

/// <summary>
/// FSDP against one process on the ~100M model at the same global batch (fp32): 1 rank x 2 threads vs FSDP 2 ranks x
/// 1 thread, with and without prefetch overlap. Reports job tokens/s (median step), per-rank parameter + gradient +
/// optimizer elements and peak RSS, the share of rank 0's step time spent inside or waiting on collectives (from the
/// trace spans), and the achieved all-gather / reduce-scatter bandwidth of the block units against the same
/// collectives called directly on buffers of the same size.
/// </summary>
public static class FsdpBench
{
    public sealed record Case(string Label, int Ranks, int Threads, bool Overlap, int GlobalBatch, int SeqLen, int Steps, string Output);
    public sealed record Result(Case Case, double MedianStepSeconds, double JobTokensPerSecond, long StateElementsPerRank,
        double PeakRssGiBMax, double CommSharePercent, double? BlockAllGatherGBps, double? BlockReduceScatterGBps,
        double? RawAllGatherGBps, double? RawReduceScatterGBps);
    /// <summary>One case of one round; <see cref="Ratio"/> is its tokens/s over the same round's one process.</summary>
    public sealed record Sample(int Round, Result Result, double Ratio);

    private const string OneProcess = "1 process x 2 threads";
    /// <summary>The ceiling for any 2-rank layout here: two single-thread processes at once, each with half the batch, no communication.</summary>
    private const string Independent = "2 independent processes x 1 thread, no communication";

    /// <summary>
    /// Every case once per round, rounds interleaved, so slow drifts of a shared machine hit all cases alike; the
    /// table gives medians over rounds and the median of each round's ratio to its own one-process figure.
    /// </summary>
    public static void Run(string resultsDir, int rounds)
    {
        var cases = new[]
        {
            new Case(OneProcess, 1, 2, true, 4, 512, 6, ""),
            new Case(Independent, 1, 1, true, 2, 512, 6, ""),
            new Case("FSDP 2 x 1 thread, overlap", 2, 1, true, 4, 512, 6, ""),
            new Case("FSDP 2 x 1 thread, no overlap", 2, 1, false, 4, 512, 6, ""),
        };
        var samples = new List<Sample>();
        for (int round = 1; round <= rounds; round++)
        {
            Result? baseline = null;
            foreach (var c in cases)
            {
                var r = c.Label == Independent ? RunIndependentPair(c) : RunOne(c);
                baseline ??= r;
                var sample = new Sample(round, r, r.JobTokensPerSecond / baseline.JobTokensPerSecond);
                samples.Add(sample);
                Console.WriteLine(string.Format(CultureInfo.InvariantCulture, "round {0}: {1}: {2:F1} tokens/s ({3:P1} of one process), comm share {4:F1}%",
                    round, c.Label, r.JobTokensPerSecond, sample.Ratio, r.CommSharePercent));
            }
        }
        Console.WriteLine();
        foreach (var c in cases) Console.WriteLine(Row(samples.Where(s => s.Result.Case.Label == c.Label).ToList(), samples.First(s => s.Result.Case.Label == OneProcess).Result));
        var file = Path.Combine(resultsDir, "fsdp-scaling.json");
        File.WriteAllText(file, JsonSerializer.Serialize(new { date = DateTime.UtcNow.ToString("u"), machine = BenchConfig.Machine(), rounds, samples },
            BenchConfig.IndentedJson));
        Console.WriteLine($"wrote {file}");
    }

    private static Result RunOne(Case c)
    {
        var withOutput = c with { Output = TempOutput() };
        return CaseProcess.Run<Result>("fsdp-scaling-case", c.Ranks, c.Label, withOutput, withOutput.Output);
    }

    /// <summary>Two one-rank processes at once, each half the global batch: job tokens/s is their sum.</summary>
    private static Result RunIndependentPair(Case c)
    {
        var pair = new[] { c with { Output = TempOutput() }, c with { Output = TempOutput() } };
        var results = CaseProcess.RunTogether<Result>("fsdp-scaling-case", c.Label, pair, pair.Select(p => p.Output).ToArray());
        return results[0] with
        {
            Case = c,
            JobTokensPerSecond = results.Sum(r => r.JobTokensPerSecond),
            MedianStepSeconds = results.Max(r => r.MedianStepSeconds),
            PeakRssGiBMax = results.Max(r => r.PeakRssGiBMax),
        };
    }

    private static string TempOutput() => Path.Combine(Path.GetTempPath(), $"fsdp-bench-{Guid.NewGuid():N}.json");

    /// <summary>One case on this rank (under mpirun for FSDP); rank 0 writes the result file.</summary>
    public static void RunCase(Case c)
    {
        var world = DistributedRuntime.Initialize();
        TorchRuntime.SetThreads(c.Threads);
        var config = BenchConfig.Create("--training.dtype", "float32", "--training.mixed_precision_param", "float32",
            "--training.num_threads", c.Threads.ToString(), "--training.seq_len", c.SeqLen.ToString(),
            "--training.global_batch_size", c.GlobalBatch.ToString(), "--training.local_batch_size", (c.GlobalBatch / c.Ranks).ToString(),
            "--training.steps", c.Steps.ToString(), "--parallelism.fsdp_overlap", c.Overlap ? "true" : "false",
            "--parallelism.fsdp_reshard_after_forward", "never", "--activation_checkpoint.mode", "none");
        using var trainer = new Trainer(config, world.Rank == 0 ? Console.Out : TextWriter.Null, TrainThroughput.Wide100M, world);
        var steps = new List<double>();
        string trace = Path.Combine(Path.GetTempPath(), $"fsdp-trace-{Guid.NewGuid():N}.json");
        int mainThread = Environment.CurrentManagedThreadId;
        for (int step = 1; step <= c.Steps; step++)
        {
            if (step == 2) Tracer.Start(); // step 1 warms up
            var sw = Stopwatch.StartNew();
            trainer.TrainStep(step);
            if (step > 1) steps.Add(sw.Elapsed.TotalSeconds);
        }
        Tracer.StopAndWrite(trace, world.Rank);
        double median = BenchConfig.Median(steps);
        long state = trainer.OptimizerParameters.Sum(t => t.numel()) * 4; // parameters, gradients, two moments
        double rss = ProcessMemory.PeakRssBytes() / (double)(1L << 30);
        using (var t = tensor(new[] { rss }, ScalarType.Float64)) { world.AllReduce(t, ReduceOp.Max); rss = t.item<double>(); }

        var (commShare, agSpan, rsSpan) = ReadTrace(trace, mainThread, steps.Sum());
        File.Delete(trace);
        double? agGBps = null, rsGBps = null, rawAg = null, rawRs = null;
        if (world.Size > 1) // every multi-rank case here is FSDP
        {
            long blockElements = TrainThroughput.Wide100M.ParameterCount() - (TrainThroughput.Wide100M with { NLayers = 0 }).ParameterCount();
            blockElements /= TrainThroughput.Wide100M.NLayers;
            long padded = (blockElements + world.Size - 1) / world.Size * world.Size;
            double bytes = padded * 4.0;
            if (agSpan is double ag) agGBps = bytes / ag / 1e9;
            if (rsSpan is double rs) rsGBps = bytes / rs / 1e9;
            (rawAg, rawRs) = RawBandwidth(world, padded);
        }
        if (world.Rank == 0)
            File.WriteAllText(c.Output, JsonSerializer.Serialize(new Result(c, median, c.GlobalBatch * c.SeqLen / median, state, rss,
                commShare, agGBps, rsGBps, rawAg, rawRs)));
        DistributedRuntime.Shutdown();
    }

    /// <summary>Share of the timed steps rank 0's main thread spent in collectives or waiting on them; median block spans.</summary>
    private static (double Share, double? AllGather, double? ReduceScatter) ReadTrace(string path, int mainThread, double seconds)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        double onMain = 0;
        var ag = new List<double>();
        var rs = new List<double>();
        foreach (var e in doc.RootElement.GetProperty("traceEvents").EnumerateArray())
        {
            if (e.GetProperty("ph").GetString() != "X") continue;
            string cat = e.GetProperty("cat").GetString()!, name = e.GetProperty("name").GetString()!;
            double dur = e.GetProperty("dur").GetDouble() / 1e6;
            if (cat.StartsWith("collective") && e.GetProperty("tid").GetInt32() == mainThread) onMain += dur;
            if (name.StartsWith("all_gather (async)")) ag.Add(dur);
            if (name.StartsWith("reduce_scatter (async)")) rs.Add(dur);
        }
        return (100 * onMain / seconds, ag.Count > 0 ? BenchConfig.Median(ag) : null, rs.Count > 0 ? BenchConfig.Median(rs) : null);
    }

    /// <summary>GB/s of all-gather and reduce-scatter called directly on one block's (padded, fp32) sizes; median of 5.</summary>
    private static (double, double) RawBandwidth(IProcessGroup world, long padded)
    {
        using var scope = NewDisposeScope();
        var full = zeros(padded);
        var shard = zeros(padded / world.Size);
        double Time(Action a)
        {
            a();
            var t = new List<double>();
            for (int i = 0; i < 5; i++) { world.Barrier(); var sw = Stopwatch.StartNew(); a(); t.Add(sw.Elapsed.TotalSeconds); }
            return BenchConfig.Median(t);
        }
        double bytes = padded * 4.0;
        return (bytes / Time(() => world.AllGather(full, shard)) / 1e9, bytes / Time(() => world.ReduceScatter(shard, full, ReduceOp.Avg)) / 1e9);
    }

    /// <summary>A table row: medians over the case's rounds (state is the same in every round).</summary>
    public static string Row(IReadOnlyList<Sample> samples, Result baseline)
    {
        var r = samples.Select(s => s.Result).ToList();
        double? MedianOf(Func<Result, double?> f) => r.Select(f).OfType<double>().ToList() is { Count: > 0 } v ? BenchConfig.Median(v) : null;
        string Bandwidth(Func<Result, double?> inTraining, Func<Result, double?> raw) =>
            MedianOf(inTraining) is double a ? string.Format(CultureInfo.InvariantCulture, "{0:F2} / {1:F2}", a, MedianOf(raw)) : "-";
        return string.Format(CultureInfo.InvariantCulture, "| {0} | {1} | {2:F1} | {3:F0}% | {4:F1} | {5:F0}% | {6:F2} | {7:F1}% | {8} | {9} |",
            r[0].Case.Label, string.Join(", ", r.Select(x => x.JobTokensPerSecond.ToString("F1", CultureInfo.InvariantCulture))),
            MedianOf(x => x.JobTokensPerSecond), 100 * BenchConfig.Median(samples.Select(s => s.Ratio)),
            r[0].StateElementsPerRank / 1e6, 100.0 * r[0].StateElementsPerRank / baseline.StateElementsPerRank, MedianOf(x => x.PeakRssGiBMax),
            MedianOf(x => x.CommSharePercent), Bandwidth(x => x.BlockAllGatherGBps, x => x.RawAllGatherGBps),
            Bandwidth(x => x.BlockReduceScatterGBps, x => x.RawReduceScatterGBps));
    }
}
