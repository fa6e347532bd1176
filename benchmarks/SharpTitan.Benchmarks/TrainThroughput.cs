using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using SharpTitan.Metrics;
using SharpTitan.Models.Llama3;
using SharpTitan.Native;
using SharpTitan.Training;
using static TorchSharp.torch;

namespace SharpTitan.Benchmarks;

/// <summary>
/// Single-process training throughput: debugmodel (seq 2048, batch 8, 10 steps) and a ~100M-parameter model,
/// at 1 and 2 torch threads, fp32 and bf16. Reports the median step's tokens/s, MFU against the measured peak
/// of the same dtype and thread count, and peak RSS. Each case runs in its own process so peak RSS is its own.
/// </summary>
public static class TrainThroughput
{
    public sealed record Case(string Model, string Dtype, int Threads, int Batch, int SeqLen, int Steps);
    public sealed record Result(Case Case, long Parameters, double MedianTokensPerSecond, double MedianStepSeconds,
        double Tflops, double PeakTflops, double MfuPercent, double PeakRssGiB);

    // dim 768, 14 layers, 12 heads: 99M parameters with the byte tokenizer's 259-token vocabulary.
    public static ModelArgs Wide100M { get; } = new() { Dim = 768, NLayers = 14, NHeads = 12, VocabSize = 259, MultipleOf = 256 };

    public static void Run(string resultsDir)
    {
        var cases = new List<Case>();
        foreach (var dtype in new[] { "float32", "bfloat16" })
        foreach (var threads in new[] { 1, 2 })
        {
            cases.Add(new Case("debugmodel", dtype, threads, 8, 2048, 10));
            cases.Add(new Case("wide100M", dtype, threads, 2, 512, 6));
        }
        var results = new List<Result>();
        foreach (var c in cases)
        {
            // A child process per case: peak RSS and libtorch's thread pool start fresh.
            var psi = new ProcessStartInfo(Environment.ProcessPath!, ["train-case", JsonSerializer.Serialize(c)]) { RedirectStandardOutput = true };
            using var p = Process.Start(psi)!;
            string output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            var line = output.Split('\n').Last(l => l.StartsWith('{'));
            var r = JsonSerializer.Deserialize<Result>(line)!;
            results.Add(r);
            Console.WriteLine(Row(r));
        }
        var file = Path.Combine(resultsDir, "train.json");
        File.WriteAllText(file, JsonSerializer.Serialize(new { date = DateTime.UtcNow.ToString("u"), machine = BenchConfig.Machine(), results },
            BenchConfig.IndentedJson));
        Console.WriteLine($"wrote {file}");
    }

    /// <summary>One case, in this process; prints its result as one JSON line.</summary>
    public static void RunCase(Case c)
    {
        TorchRuntime.SetThreads(c.Threads);
        // dtype and mixed_precision_param both set: "float32" is fp32 throughout, "bfloat16" is full bf16.
        var config = BenchConfig.Create("--training.dtype", c.Dtype, "--training.mixed_precision_param", c.Dtype,
            "--training.num_threads", c.Threads.ToString(),
            "--training.local_batch_size", c.Batch.ToString(), "--training.seq_len", c.SeqLen.ToString(),
            "--training.steps", c.Steps.ToString());
        using var trainer = new Trainer(config, TextWriter.Null, c.Model == "wide100M" ? Wide100M : null);
        var stepSeconds = new List<double>();
        for (int step = 1; step <= c.Steps; step++)
        {
            var sw = Stopwatch.StartNew();
            trainer.TrainStep(step);
            if (step > 1) stepSeconds.Add(sw.Elapsed.TotalSeconds); // step 1 warms up allocators and kernels
        }
        double median = BenchConfig.Median(stepSeconds);
        double tps = c.Batch * c.SeqLen / median;
        double tflops = trainer.ModelArgs.FlopsPerToken(c.SeqLen) * tps / 1e12;
        // The peak is measured again here, on the case's dtype and threads, and the best rate ever seen is kept: a
        // peak cached while the machine was busy would overstate MFU.
        var dtype = Trainer.ParseDtype(c.Dtype);
        double peak = PeakFlops.Record(PeakFlops.CachePath(dtype, c.Threads), PeakFlops.Measure(dtype, seconds: 3));
        var r = new Result(c, trainer.ModelArgs.ParameterCount(), tps, median, tflops, peak,
            100 * tflops / peak, ProcessMemory.PeakRssBytes() / (double)(1L << 30));
        Console.WriteLine(JsonSerializer.Serialize(r));
    }

    public static string Row(Result r) => string.Format(CultureInfo.InvariantCulture,
        "| {0} ({1:F1}M) | {2} | {3} | {4}x{5} | {6:N0} | {7:F3} | {8:F3} | {9:F1}% | {10:F2} |",
        r.Case.Model, r.Parameters / 1e6, r.Case.Dtype, r.Case.Threads, r.Case.Batch, r.Case.SeqLen,
        r.MedianTokensPerSecond, r.Tflops, r.PeakTflops, r.MfuPercent, r.PeakRssGiB);
}
