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
/// Activation checkpointing and mixed precision, single process, each case in its own process (so peak RSS is
/// its own): (1) every AC mode on a deep narrow model (16 layers, dim 256, seq 2048, batch 1): peak RSS, the RSS
/// the step leaves (parameters, gradients, optimizer state), their difference (activations and temporaries) and
/// tokens/s; (2) fp32 vs bf16 (both mixed-precision implementations and full bf16) on debugmodel and a ~100M model:
/// tokens/s and MFU against a peak measured in the same process (PeakFlops.Measure of the compute dtype).
/// Medians over the steps after the first.
/// </summary>
public static partial class AcPrecisionBench
{
    // glibc keeps freed heap pages; trimming returns them so RSS after a step shows what the step left behind.
    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);

    public sealed record Case(string Group, string Model, string Label, string[] Overrides, int Threads, int Batch, int SeqLen, int Steps,
        int Ranks = 1, bool FixedMmapThreshold = false);
    public sealed record Result(Case Case, long Parameters, double MedianTokensPerSecond, double MedianStepSeconds,
        double Tflops, double PeakTflops, double MfuPercent, double PeakRssGiB, double SteadyRssGiB, double FirstLoss)
    {
        /// <summary>fp32 gradients: allocated in backward and freed after the optimizer step, so the peak holds them
        /// but the steady RSS does not; they are there whatever the AC mode.</summary>
        public double GradientGiB => Parameters * 4.0 / (1L << 30);
        /// <summary>Activations and temporaries: the peak less what the step leaves and less the gradients.</summary>
        public double ActivationGiB => PeakRssGiB - SteadyRssGiB - GradientGiB;
    }

    public static ModelArgs Deep16 { get; } = new() { Dim = 256, NLayers = 16, NHeads = 8, VocabSize = 259, MultipleOf = 256 };

    public static IEnumerable<Case> Cases(string which)
    {
        if (which is "norm")
            foreach (var c in NormCases()) yield return c;
        if (which is "ac" or "ac-mmap" or "all")
            foreach (var (label, o) in new[] { ("none", new[] { "--activation_checkpoint.mode", "none" }),
                         ("full", ["--activation_checkpoint.mode", "full"]),
                         ("selective 2", ["--activation_checkpoint.mode", "selective", "--activation_checkpoint.selective_ac_option", "2"]),
                         ("selective op", ["--activation_checkpoint.mode", "selective", "--activation_checkpoint.selective_ac_option", "op"]) })
                yield return new Case("ac", "deep16", label, [.. o, "--training.mixed_precision_param", "float32"], 1, 1, 2048, 5, 1, which == "ac-mmap");
        if (which is "ac-fsdp")
            foreach (var (label, o) in new[] { ("never, none", new[] { "never", "none" }), ("never, full", ["never", "full"]) })
                yield return new Case("fsdp", "deep16", "fsdp2 " + label, ["--parallelism.fsdp_reshard_after_forward", o[0],
                    "--activation_checkpoint.mode", o[1], "--training.mixed_precision_param", "float32"], 1, 1, 2048, 3, 2, true);
        if (which is "mp" or "all")
            foreach (var (model, batch, seq) in new[] { ("debugmodel", 2, 2048), ("wide100M", 2, 512) })
            foreach (var (label, o) in new[] { ("fp32", new[] { "--training.mixed_precision_param", "float32" }),
                         ("bf16 master_copy", ["--training.mixed_precision_param", "bfloat16", "--training.mixed_precision_impl", "master_copy"]),
                         ("bf16 autocast", ["--training.mixed_precision_param", "bfloat16", "--training.mixed_precision_impl", "autocast"]),
                         ("full bf16", ["--training.dtype", "bfloat16", "--training.mixed_precision_param", "bfloat16"]) })
                yield return new Case("mp", model, label, [.. o, "--activation_checkpoint.mode", "none"], 1, batch, seq, 5);
    }

    /// <summary>model.norm_type: the plain RMSNorm under autograd against the fused one, alternating, bf16 master_copy, no AC.</summary>
    private static IEnumerable<Case> NormCases()
    {
        foreach (var (model, batch, seq) in new[] { ("deep16", 1, 2048), ("wide100M", 2, 512) })
            for (int round = 0; round < 2; round++)
                foreach (var norm in new[] { "rmsnorm", "fused_rmsnorm" })
                    yield return new Case("norm", model, norm, ["--model.norm_type", norm, "--training.mixed_precision_param", "bfloat16",
                        "--training.mixed_precision_impl", "master_copy", "--activation_checkpoint.mode", "none"], 1, batch, seq, 6, 1, FixedMmapThreshold: true);
    }

    public static void Run(string resultsDir, string which)
    {
        var results = new List<Result>();
        foreach (var c in Cases(which))
        {
            string[] caseArgs = ["acmp-case", JsonSerializer.Serialize(c)];
            var psi = c.Ranks == 1 ? new ProcessStartInfo(Environment.ProcessPath!, caseArgs)
                : new ProcessStartInfo("mpirun", ["-n", c.Ranks.ToString(), "--allow-run-as-root", "--oversubscribe", "--bind-to", "none",
                    "--mca", "btl", "self,vader", "-x", "MALLOC_MMAP_THRESHOLD_", Environment.ProcessPath!, .. caseArgs]);
            psi.RedirectStandardOutput = true;
            // mpirun gives ranks a pseudo-terminal: without TERM=dumb .NET starts their output with ESC[?1h ESC=.
            psi.Environment["TERM"] = "dumb";
            // A fixed threshold (which also stops glibc from raising it) serves every block over 128 KiB with mmap
            // and returns it on free, so RSS follows live tensors instead of the heap's high-water mark.
            if (c.FixedMmapThreshold) psi.Environment["MALLOC_MMAP_THRESHOLD_"] = "131072";
            using var p = Process.Start(psi)!;
            string output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            // mpirun may put terminal control bytes before a rank's line: parse from the first brace.
            var lines = output.Split('\n').Where(l => l.Contains("{\"Case\"")).Select(l => JsonSerializer.Deserialize<Result>(l[l.IndexOf('{')..])!).ToList();
            if (lines.Count == 0) { Console.WriteLine($"{c.Model} {c.Label}: failed\n{output}"); continue; }
            var r = lines.MaxBy(x => x.PeakRssGiB)!; // the rank that needed most
            results.Add(r);
            Console.WriteLine(Row(r));
        }
        var file = Path.Combine(resultsDir, $"{which}.json");
        File.WriteAllText(file, JsonSerializer.Serialize(new { date = DateTime.UtcNow.ToString("u"), machine = BenchConfig.Machine(),
            load = File.ReadAllText("/proc/loadavg").Trim(), results }, BenchConfig.IndentedJson));
        Console.WriteLine($"wrote {file}");
    }

    public static void RunCase(Case c)
    {
        TorchRuntime.SetThreads(c.Threads);
        var config = BenchConfig.Create([.. c.Overrides, "--training.num_threads", c.Threads.ToString(),
            "--training.local_batch_size", c.Batch.ToString(), "--training.seq_len", c.SeqLen.ToString(), "--training.steps", c.Steps.ToString(),
            "--metrics.peak_tflops", "1"]);
        var args = c.Model switch { "deep16" => Deep16, "wide100M" => TrainThroughput.Wide100M, _ => null };
        var trainer = new Trainer(config, TextWriter.Null, args);
        var stepSeconds = new List<double>();
        double firstLoss = 0;
        for (int step = 1; step <= c.Steps; step++)
        {
            var sw = Stopwatch.StartNew();
            var r = trainer.TrainStep(step);
            if (step == 1) firstLoss = r.Loss;
            else stepSeconds.Add(sw.Elapsed.TotalSeconds); // step 1 warms up allocators and kernels
        }
        GC.Collect();
        GC.WaitForPendingFinalizers();
        _ = MallocTrim(0); // returns 1 when it released memory
        double steady = ProcessMemory.RssBytes() / (double)(1L << 30);
        bool bf16 = c.Overrides.Contains("bfloat16");
        double peak = PeakFlops.Measure(bf16 ? ScalarType.BFloat16 : ScalarType.Float32);
        double median = BenchConfig.Median(stepSeconds);
        double tps = c.Batch * c.SeqLen / median;
        double tflops = trainer.ModelArgs.FlopsPerToken(c.SeqLen) * tps / 1e12;
        Console.WriteLine(JsonSerializer.Serialize(new Result(c, trainer.ModelArgs.ParameterCount(), tps, median, tflops, peak,
            100 * tflops / peak, ProcessMemory.PeakRssBytes() / (double)(1L << 30), steady, firstLoss)));
        trainer.Dispose();
        SharpTitan.Distributed.DistributedRuntime.Shutdown(); // nothing without mpirun
    }

    public static string Row(Result r) => string.Format(CultureInfo.InvariantCulture,
        "| {0} ({1:F1}M) | {2}{13} | {3}x{4} | {5:N0} | {6:F2} | {7:F3} | {8:F3} | {9:F1}% | {10:F2} | {11:F2} | {12:F2} | {14:F3} | {15:F3} |",
        r.Case.Model, r.Parameters / 1e6, r.Case.Label, r.Case.Batch, r.Case.SeqLen, r.MedianTokensPerSecond, r.MedianStepSeconds,
        r.Tflops, r.PeakTflops, r.MfuPercent, r.PeakRssGiB, r.SteadyRssGiB, r.PeakRssGiB - r.SteadyRssGiB, r.Case.FixedMmapThreshold ? " (mmap 128K)" : "", r.GradientGiB, r.ActivationGiB);
}
