using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using SharpTitan.Distributed;
using SharpTitan.Native;
using SharpTitan.Parallel;
using SharpTitan.Training;

namespace SharpTitan.Benchmarks;

/// <summary>
/// Tensor parallel on the ~100M model at the same global batch (fp32, sequence + loss parallel): one process, FSDP 2,
/// TP 2 plain and async, FSDP 2 x TP 2 plain and async. Plain and async TP run alternately, twice each, so their
/// ratio compares runs that saw the same machine load. Reports job tokens/s (median step), torchtitan's tokens/s per
/// device, and the share of rank 0's step time in TP collectives (plain: inside them; async: waiting for them, the
/// communication the overlapped compute did not hide).
/// </summary>
public static class TpBench
{
    public sealed record Case(string Label, int Ranks, int Tp, bool Async, int Threads, int GlobalBatch, int SeqLen, int Steps, string Output);
    public sealed record Result(Case Case, double MedianStepSeconds, double JobTokensPerSecond, double TokensPerDevice,
        double TpCommSharePercent, double FinalLoss, double[] StepSeconds);

    public static void Run(string resultsDir)
    {
        Case C(string label, int ranks, int tp, bool async, int threads = 1) => new(label, ranks, tp, async, threads, 2, 512, 4, "");
        var cases = new[]
        {
            C("1 process x 2 threads", 1, 1, false, 2),
            C("FSDP 2", 2, 1, false),
            C("TP 2", 2, 2, false), C("TP 2 async", 2, 2, true),
            C("TP 2", 2, 2, false), C("TP 2 async", 2, 2, true),
            C("FSDP 2 x TP 2 (4 ranks, oversubscribed)", 4, 2, false), C("FSDP 2 x TP 2 async (4 ranks, oversubscribed)", 4, 2, true),
        };
        var results = new List<Result>();
        foreach (var c0 in cases)
        {
            var c = c0 with { Output = Path.Combine(Path.GetTempPath(), $"tp-bench-{Guid.NewGuid():N}.json") };
            var r = CaseProcess.Run<Result>("tp-case", c.Ranks, c.Label, c, c.Output);
            results.Add(r);
            Console.WriteLine(Row(r, results[0]));
        }
        foreach (var (plain, async) in new[] { ("TP 2", "TP 2 async"), ("FSDP 2 x TP 2 (4 ranks, oversubscribed)", "FSDP 2 x TP 2 async (4 ranks, oversubscribed)") })
        {
            double p = BenchConfig.Median(results.Where(r => r.Case.Label == plain).Select(r => r.JobTokensPerSecond));
            double a = BenchConfig.Median(results.Where(r => r.Case.Label == async).Select(r => r.JobTokensPerSecond));
            Console.WriteLine(string.Format(CultureInfo.InvariantCulture, "{0}: async / plain tokens/s = {1:F3}", plain, a / p));
        }
        var file = Path.Combine(resultsDir, "tp.json");
        File.WriteAllText(file, JsonSerializer.Serialize(new { date = DateTime.UtcNow.ToString("u"), machine = BenchConfig.Machine(), results },
            BenchConfig.IndentedJson));
        Console.WriteLine($"wrote {file}");
    }

    /// <summary>One case on this rank (under mpirun for more than one); rank 0 writes the result file.</summary>
    public static void RunCase(Case c)
    {
        var world = DistributedRuntime.Initialize();
        TorchRuntime.SetThreads(c.Threads);
        int dp = c.Ranks / c.Tp;
        var config = BenchConfig.Create("--training.dtype", "float32", "--training.mixed_precision_param", "float32",
            "--training.num_threads", c.Threads.ToString(), "--training.seq_len", c.SeqLen.ToString(),
            "--training.global_batch_size", c.GlobalBatch.ToString(), "--training.local_batch_size", (c.GlobalBatch / dp).ToString(),
            "--training.steps", c.Steps.ToString(), "--parallelism.tensor_parallel_degree", c.Tp.ToString(),
            "--parallelism.enable_async_tensor_parallel", c.Async ? "true" : "false",
            "--parallelism.fsdp_reshard_after_forward", "never", "--activation_checkpoint.mode", "none");
        using var trainer = new Trainer(config, world.Rank == 0 ? Console.Out : TextWriter.Null, TrainThroughput.Wide100M, world);
        var steps = new List<double>();
        TimeSpan comm = TimeSpan.Zero;
        double loss = double.NaN;
        for (int step = 1; step <= c.Steps; step++)
        {
            var commBefore = TpComm.Elapsed;
            var sw = Stopwatch.StartNew();
            loss = trainer.TrainStep(step).Loss;
            if (step == 1) continue; // warms up allocators and kernels
            steps.Add(sw.Elapsed.TotalSeconds);
            comm += TpComm.Elapsed - commBefore;
        }
        double median = BenchConfig.Median(steps);
        double tokensPerSecond = c.GlobalBatch * c.SeqLen / median;
        if (world.Rank == 0)
            File.WriteAllText(c.Output, JsonSerializer.Serialize(new Result(c, median, tokensPerSecond, tokensPerSecond / c.Tp,
                100 * comm.TotalSeconds / steps.Sum(), loss, [.. steps])));
        DistributedRuntime.Shutdown();
    }

    public static string Row(Result r, Result baseline) => string.Format(CultureInfo.InvariantCulture,
        "| {0} | {1:N1} | {2:N1} | {3:F0}% | {4} | {5:F4} |",
        r.Case.Label, r.JobTokensPerSecond, r.TokensPerDevice, 100 * r.JobTokensPerSecond / baseline.JobTokensPerSecond,
        r.Case.Tp > 1 ? $"{r.TpCommSharePercent:F1}%" : "-", r.FinalLoss);
}
