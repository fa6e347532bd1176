using System.Diagnostics;
using System.Text.Json;
using SharpTitan.Kernels;
using SharpTitan.Metrics;
using SharpTitan.Native;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace SharpTitan.Benchmarks;

/// <summary>
/// `loss`: the training loss alone, forward and backward of logits [rows, vocab] against labels: F.cross_entropy on
/// the fp32 logits under autograd (what the trainer ran before) against the chunked <see cref="FusedCrossEntropy"/>.
/// Each case is its own process with a fixed mmap threshold, so its peak RSS over the logits (allocated before the
/// timed loop) is what the loss and the gradient it hands on need; the two alternate over 3 rounds, 1 thread.
/// </summary>
public static class LossBench
{
    public sealed record Case(string Impl, int Rows, int Vocab, string Dtype, int Iterations = 5);
    public sealed record Result(Case Case, double MedianSeconds, double ExtraPeakGiB, double Loss);

    public static void Run(string resultsDir)
    {
        var results = new List<Result>();
        foreach (var (rows, vocab, dtype) in new[] { (2048, 100_277, "bfloat16"), (2048, 100_277, "float32"), (16_384, 2048, "bfloat16") })
            for (int round = 0; round < 3; round++)
                foreach (var impl in round % 2 == 0 ? new[] { "plain", "fused" } : ["fused", "plain"])
                {
                    var psi = new ProcessStartInfo(Environment.ProcessPath!, ["loss-case", JsonSerializer.Serialize(new Case(impl, rows, vocab, dtype))])
                        { RedirectStandardOutput = true };
                    psi.Environment["MALLOC_MMAP_THRESHOLD_"] = "131072"; // RSS follows the live tensors (see the AC section)
                    using var p = Process.Start(psi)!;
                    string output = p.StandardOutput.ReadToEnd();
                    p.WaitForExit();
                    var r = JsonSerializer.Deserialize<Result>(output.Split('\n').Last(l => l.StartsWith('{')))!;
                    results.Add(r);
                    Console.WriteLine($"{rows} x {vocab} {dtype} {impl}: {r.MedianSeconds * 1000:F0} ms, +{r.ExtraPeakGiB:F3} GiB peak, loss {r.Loss:F6}");
                }
        File.WriteAllText(Path.Combine(resultsDir, "loss.json"), JsonSerializer.Serialize(new { date = DateTime.UtcNow.ToString("u"), machine = BenchConfig.Machine(), results },
            BenchConfig.IndentedJson));
    }

    public static void RunCase(Case c)
    {
        set_num_threads(1);
        manual_seed(0);
        var dtype = Enum.Parse<ScalarType>(c.Dtype, ignoreCase: true);
        var logits = (randn(c.Rows, c.Vocab) * 2).to(dtype).requires_grad_(true);
        var labels = randint(0, c.Vocab, [c.Rows]);
        Func<Tensor, Tensor, Tensor> loss = c.Impl == "fused"
            ? (x, y) => FusedCrossEntropy.Mean(x, y)
            : (x, y) => F.cross_entropy(x.to(ScalarType.Float32), y);
        double value = 0;
        void Step()
        {
            using var scope = NewDisposeScope();
            var l = loss(logits, labels);
            // The gradient handed on, as to the output layer's backward in training (no accumulation into .grad).
            autograd.grad([l], [logits]);
            BackwardScope.ReleaseAll();
            value = l.item<float>();
        }
        Step();
        GC.Collect();
        long before = ProcessMemory.RssBytes();
        ProcessMemory.ResetPeakRss();
        var seconds = new List<double>();
        for (int i = 0; i < c.Iterations; i++)
        {
            var sw = Stopwatch.StartNew();
            Step();
            seconds.Add(sw.Elapsed.TotalSeconds);
        }
        double extra = (ProcessMemory.WindowPeakRssBytes() - before) / (double)(1L << 30);
        seconds.Sort();
        Console.WriteLine(JsonSerializer.Serialize(new Result(c, seconds[seconds.Count / 2], extra, value)));
    }
}
