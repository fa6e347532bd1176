using System.Diagnostics;
using System.Globalization;
using SharpTitan.Models.Llama3;
using SharpTitan.Native;
using SharpTitan.Parallel;
using static TorchSharp.torch;

namespace SharpTitan.Benchmarks;

/// <summary>
/// What splitting a stage's backward into I and W costs (one process, one thread, fp32): a middle stage of
/// <see cref="TrainThroughput.Wide100M"/>'s blocks (hidden states in, hidden states out) on one micro-batch; the
/// median over repetitions of its fused backward (the plain graph, as 1F1B runs it; and the segmented graph's B),
/// of I and of W, each after its own forward.
/// </summary>
public static class SplitBackwardCost
{
    /// <param name="InputMs">I recomputing in W (the weight-gradient chain inside each block run again).</param>
    /// <param name="DeferredInputMs">I with the linears' (x, dy) kept for W (what the trainer runs).</param>
    /// <param name="DeferredWeightMs">W as the kept pairs' matmuls.</param>
    public sealed record Result(int Layers, int Rows, int SeqLen, double ForwardMs, double FusedMs, double SegmentedFusedMs, double InputMs, double WeightMs,
        double DeferredInputMs, double DeferredWeightMs);

    public static Result Measure(int layers = 4, int rows = 2, int seq = 256, int reps = 5)
    {
        TorchRuntime.SetThreads(1);
        manual_seed(0);
        using var model = new Transformer(TrainThroughput.Wide100M with { NLayers = layers });
        model.train();
        var modules = new StageModules(1, false, 0, layers, false);
        var stage = new PipelineStage(model, modules);
        var forward = new List<double>();
        var fused = new List<double>();
        var segmented = new List<double>();
        var input = new List<double>();
        var weight = new List<double>();
        for (int r = 0; r < reps + 1; r++)
        {
            using var scope = NewDisposeScope();
            var x = randn(rows, seq, model.Args.Dim).requires_grad_(true);
            var g = randn(rows, seq, model.Args.Dim);
            var sw = Stopwatch.StartNew();
            var y = stage.Forward(x);
            double f = sw.Elapsed.TotalMilliseconds;
            sw.Restart();
            autograd.backward([y], [g]);
            double b = sw.Elapsed.TotalMilliseconds;

            using var graph = stage.ForwardSegments(x);
            sw.Restart();
            graph.Backward(g);
            double sb = sw.Elapsed.TotalMilliseconds;

            var (i, w) = SplitBackward(stage, x, g);
            model.zero_grad();
            if (r == 0) continue; // warm-up
            forward.Add(f); fused.Add(b); segmented.Add(sb); input.Add(i); weight.Add(w);
        }
        using var deferred = new DeferredWeightGradients(PipelineStage.LinearLayers(model, modules));
        var deferredStage = new PipelineStage(model, modules, deferred: deferred);
        var deferredInput = new List<double>();
        var deferredWeight = new List<double>();
        for (int r = 0; r < reps + 1; r++)
        {
            using var scope = NewDisposeScope();
            var x = randn(rows, seq, model.Args.Dim).requires_grad_(true);
            var g = randn(rows, seq, model.Args.Dim);
            var (i, w) = SplitBackward(deferredStage, x, g);
            model.zero_grad();
            if (r == 0) continue;
            deferredInput.Add(i); deferredWeight.Add(w);
        }
        return new Result(layers, rows, seq, BenchConfig.Median(forward), BenchConfig.Median(fused), BenchConfig.Median(segmented),
            BenchConfig.Median(input), BenchConfig.Median(weight), BenchConfig.Median(deferredInput), BenchConfig.Median(deferredWeight));
    }

    /// <summary>Milliseconds of I and of W on a fresh forward of <paramref name="stage"/>.</summary>
    private static (double Input, double Weight) SplitBackward(PipelineStage stage, Tensor x, Tensor g)
    {
        using var graph = stage.ForwardSegments(x);
        var sw = Stopwatch.StartNew();
        graph.BackwardInput(g);
        double i = sw.Elapsed.TotalMilliseconds;
        sw.Restart();
        graph.BackwardWeight();
        return (i, sw.Elapsed.TotalMilliseconds);
    }

    public static string Describe(Result r) => string.Format(CultureInfo.InvariantCulture,
        "split backward, {0} wide100M blocks, {1} x {2} tokens: forward {3:F0} ms, fused backward {4:F0} ms (segmented B {5:F0} ms), " +
        "recomputing W: I {6:F0} ms ({7:F2}x fused), W {8:F0} ms ({9:F2}x), I + W {10:F2}x; deferred linears: I {11:F0} ms ({12:F2}x), " +
        "W {13:F0} ms ({14:F2}x), I + W {15:F2}x",
        r.Layers, r.Rows, r.SeqLen, r.ForwardMs, r.FusedMs, r.SegmentedFusedMs, r.InputMs, r.InputMs / r.FusedMs, r.WeightMs, r.WeightMs / r.FusedMs,
        (r.InputMs + r.WeightMs) / r.FusedMs, r.DeferredInputMs, r.DeferredInputMs / r.FusedMs, r.DeferredWeightMs, r.DeferredWeightMs / r.FusedMs,
        (r.DeferredInputMs + r.DeferredWeightMs) / r.FusedMs);
}
