using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using SharpTitan.Distributed;
using SharpTitan.Float8;
using SharpTitan.Models.Llama3;
using SharpTitan.Native;
using SharpTitan.Training;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace SharpTitan.Benchmarks;

/// <summary>
/// Float8 against bf16 on this CPU, side by side in one process (1 torch thread; the variants take turns, rounds
/// repeated, medians): one linear layer's forward + backward, and training steps of two models, for bf16 (fp32
/// masters), float8 tensorwise through libtorch's _scaled_mm, float8 tensorwise emulated (float8.emulate) and
/// float8 rowwise (always emulated on CPU). Then FSDP on 2 ranks: the bytes of parameter all-gathers per step with
/// bf16 gathers and with float8 all-gather (with and without precomputed scales).
/// </summary>
public static class Float8Bench
{
    public sealed record Variant(string Label, string[] Overrides);
    public sealed record Row(string Workload, string Variant, int Samples, double MedianSeconds, double TokensPerSecond, double VersusBf16);
    public sealed record FsdpCase(string Label, string[] Overrides, string Output);
    public sealed record FsdpResult(string Label, long AllGatherBytesPerStep, double MedianStepSeconds, double[] Losses);

    private static readonly Variant[] Variants =
    [
        new("bf16", []),
        new("float8 tensorwise, libtorch _scaled_mm", ["--model.converters", "float8"]),
        new("float8 tensorwise, emulated", ["--model.converters", "float8", "--float8.emulate"]),
        new("float8 rowwise, emulated", ["--model.converters", "float8", "--float8.recipe_name", "rowwise"]),
    ];

    /// <summary>dim 1024, 2 layers, 16 heads (ffn 2816): matmuls big enough that the matmul dominates the step.</summary>
    private static readonly ModelArgs Dim1024 = new() { Dim = 1024, NLayers = 2, NHeads = 16, VocabSize = 259, MultipleOf = 256 };

    private const int Rounds = 3;

    public static void Run(string resultsDir)
    {
        TorchRuntime.SetThreads(1);
        var rows = new List<Row>();
        rows.AddRange(Linear(2048, 1024, 1024));
        rows.AddRange(Training("debugmodel (dim 256, 6 layers), batch 4 x seq 512", null, 4, 512, 3));
        rows.AddRange(Training("dim 1024, 2 layers, batch 2 x seq 512", Dim1024, 2, 512, 2));
        foreach (var r in rows) Console.WriteLine(Format(r));

        var fsdp = new List<FsdpResult>();
        foreach (var c in new[]
                 {
                     new FsdpCase("bf16 all-gather", [], ""),
                     new FsdpCase("float8 all-gather", ["--float8.enable_fsdp_float8_all_gather"], ""),
                     new FsdpCase("float8 all-gather, precomputed scales", ["--float8.enable_fsdp_float8_all_gather", "--float8.precompute_float8_dynamic_scale_for_fsdp"], ""),
                 })
        {
            var run = c with { Output = Path.Combine(Path.GetTempPath(), $"float8-bench-{Guid.NewGuid():N}.json") };
            var r = CaseProcess.Run<FsdpResult>("float8-fsdp-case", 2, c.Label, run, run.Output);
            fsdp.Add(r);
            Console.WriteLine(string.Format(CultureInfo.InvariantCulture, "| FSDP 2, debugmodel, float8 linears | {0} | {1:N0} | {2:F2} | {3:F3} |",
                r.Label, r.AllGatherBytesPerStep, r.AllGatherBytesPerStep / (double)fsdp[0].AllGatherBytesPerStep, r.MedianStepSeconds));
        }
        var file = Path.Combine(resultsDir, "float8.json");
        File.WriteAllText(file, JsonSerializer.Serialize(new
        {
            date = DateTime.UtcNow.ToString("u"),
            machine = BenchConfig.Machine(),
            scaled_mm = CpuFloat8.Describe(),
            threads = 1,
            rows,
            fsdp,
        }, BenchConfig.IndentedJson));
        Console.WriteLine($"wrote {file}");
    }

    /// <summary>y = x Wᵀ and its backward for x [m, k], W [n, k]: F.linear in bf16 against the float8 kernels.</summary>
    private static IEnumerable<Row> Linear(int m, int k, int n)
    {
        manual_seed(0);
        var x = randn(m, k).to(ScalarType.BFloat16).requires_grad_(true);
        var w = (randn(n, k) * 0.02).to(ScalarType.BFloat16).requires_grad_(true);
        var g = randn(m, n).to(ScalarType.BFloat16);
        var kernels = new (string Label, Func<Tensor, Tensor, Tensor> Apply)[]
        {
            ("bf16", (a, b) => F.linear(a, b)),
            (Variants[1].Label, new Float8LinearKernel("bench", Float8Recipe.Tensorwise, Float8MatmulMode.ScaledMm, null).Apply),
            (Variants[2].Label, new Float8LinearKernel("bench", Float8Recipe.Tensorwise, Float8MatmulMode.Emulated, null).Apply),
            (Variants[3].Label, new Float8LinearKernel("bench", Float8Recipe.RowwiseRecipe, Float8MatmulMode.Emulated, null).Apply),
        };
        var times = kernels.Select(_ => new List<double>()).ToArray();
        for (int round = 0; round < Rounds + 1; round++)
            for (int i = 0; i < kernels.Length; i++)
                for (int rep = 0; rep < 3; rep++)
                {
                    using var scope = NewDisposeScope();
                    var sw = Stopwatch.StartNew();
                    kernels[i].Apply(x, w).backward([g]);
                    x.grad = null;
                    w.grad = null;
                    if (round > 0) times[i].Add(sw.Elapsed.TotalSeconds); // round 0 warms up
                }
        return Rows($"linear fwd+bwd, x [{m}, {k}] x W [{n}, {k}]", kernels.Select(kk => kk.Label).ToArray(), times, m);
    }

    /// <summary>Training steps of one model for every variant, taking turns: each round runs every trainer a few steps.</summary>
    private static IEnumerable<Row> Training(string workload, ModelArgs? args, int batch, int seqLen, int stepsPerRound)
    {
        var trainers = Variants.Select(v => new Trainer(BenchConfig.Create([
            "--training.mixed_precision_param", "bfloat16", "--training.num_threads", "1", "--activation_checkpoint.mode", "none",
            "--training.local_batch_size", batch.ToString(), "--training.seq_len", seqLen.ToString(),
            "--training.steps", (stepsPerRound * (Rounds + 1)).ToString(), .. v.Overrides]), TextWriter.Null, args)).ToList();
        var times = Variants.Select(_ => new List<double>()).ToArray();
        int step = 0;
        for (int round = 0; round < Rounds + 1; round++)
        {
            for (int i = 0; i < trainers.Count; i++)
                for (int s = 1; s <= stepsPerRound; s++)
                {
                    var sw = Stopwatch.StartNew();
                    trainers[i].TrainStep(step + s);
                    if (round > 0) times[i].Add(sw.Elapsed.TotalSeconds); // round 0 warms up
                }
            step += stepsPerRound;
        }
        foreach (var t in trainers) t.Dispose();
        return Rows(workload, Variants.Select(v => v.Label).ToArray(), times, batch * seqLen);
    }

    private static IEnumerable<Row> Rows(string workload, string[] labels, List<double>[] times, int tokens)
    {
        double bf16 = BenchConfig.Median(times[0]);
        for (int i = 0; i < labels.Length; i++)
        {
            double median = BenchConfig.Median(times[i]);
            yield return new Row(workload, labels[i], times[i].Count, median, tokens / median, bf16 / median);
        }
    }

    public static string Format(Row r) => string.Format(CultureInfo.InvariantCulture, "| {0} | {1} | {2:N0} | {3:F3} | {4:F2}x |",
        r.Workload, r.Variant, r.TokensPerSecond, r.MedianSeconds, r.VersusBf16);

    /// <summary>One FSDP case on this rank (under mpirun); rank 0 writes the result file.</summary>
    public static void RunCase(FsdpCase c)
    {
        var world = DistributedRuntime.Initialize();
        var config = BenchConfig.Create([
            "--training.mixed_precision_param", "bfloat16", "--training.num_threads", "1", "--activation_checkpoint.mode", "none",
            "--training.global_batch_size", "4", "--training.local_batch_size", "2", "--training.seq_len", "512",
            "--training.steps", "4", "--model.converters", "float8", .. c.Overrides]);
        using var trainer = new Trainer(config, TextWriter.Null, null, world);
        var seconds = new List<double>();
        var losses = new List<double>();
        long bytesBefore = 0;
        for (int step = 1; step <= 4; step++)
        {
            if (step == 2) bytesBefore = trainer.Parts.ParameterAllGatherBytes; // step 1 warms up
            var sw = Stopwatch.StartNew();
            losses.Add(trainer.TrainStep(step).Loss);
            if (step > 1) seconds.Add(sw.Elapsed.TotalSeconds);
        }
        long perStep = (trainer.Parts.ParameterAllGatherBytes - bytesBefore) / 3;
        if (world.Rank == 0)
            File.WriteAllText(c.Output, JsonSerializer.Serialize(new FsdpResult(c.Label, perStep, BenchConfig.Median(seconds), [.. losses])));
    }
}
