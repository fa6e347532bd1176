using System.Diagnostics;
using System.Text.Json;
using SharpTitan.Metrics;
using SharpTitan.Models.Llama3;
using SharpTitan.Native;
using SharpTitan.Optim;
using SharpTitan.Training;
using static TorchSharp.torch;

namespace SharpTitan.Benchmarks;

/// <summary>
/// One GPU training case (benchmarks/gpu/run.sh runs each in its own process, beside PyTorch on the same shapes):
/// a Llama 3 flavor, optionally with fewer layers, at local batch 1, bf16 compute over fp32 masters, AdamW, with an
/// activation-checkpointing mode and optionally Float8. Prints one JSON line: median tokens/s of the timed steps
/// (device synchronized), MFU against the datasheet peak, the caching allocator's peak reserved memory.
/// </summary>
public static class GpuBench
{
    public sealed record Case(string Flavor, int Layers, string Ac, bool Float8, int SeqLen, int Steps, int Warmup = 2);
    public sealed record Result(Case Case, string Device, long Parameters, int Vocab, double MedianTokensPerSecond, double MedianStepSeconds,
        double Tflops, double PeakTflops, double MfuPercent, double PeakReservedGiB, double[] Losses, Dictionary<string, double> PhaseSeconds);

    public static void RunCase(Case c)
    {
        var args = new List<string>
        {
            "--training.device", "cuda", "--model.flavor", c.Flavor, "--model.tokenizer_path", "cl100k_base",
            "--training.dataset", "sample", "--training.local_batch_size", "1", "--training.seq_len", c.SeqLen.ToString(),
            "--training.steps", (c.Warmup + c.Steps).ToString(), "--activation_checkpoint.mode", c.Ac,
        };
        if (c.Float8) args.AddRange(["--model.converters", "float8"]);
        var config = BenchConfig.Create([.. args]);
        var shape = ModelFlavors.Llama3[c.Flavor] with { NLayers = c.Layers };
        using var trainer = new Trainer(config, Console.Out, shape);
        var device = new Device(TorchSharp.DeviceType.CUDA, 0);
        var seconds = new List<double>();
        var losses = new List<double>();
        for (int step = 1; step <= c.Warmup + c.Steps; step++)
        {
            ComputeDevice.Synchronize(device);
            var sw = Stopwatch.StartNew();
            var r = trainer.TrainStep(step);
            ComputeDevice.Synchronize(device);
            if (step > c.Warmup) seconds.Add(sw.Elapsed.TotalSeconds);
            losses.Add(r.Loss);
        }
        double median = BenchConfig.Median(seconds);
        double tps = c.SeqLen / median;
        double tflops = trainer.ModelArgs.FlopsPerToken(c.SeqLen) * tps / 1e12;
        var (name, _, _, _) = CudaNative.Properties(0);
        double peak = PeakFlops.GpuDatasheetPeak(name) ?? double.NaN;
        var memory = CudaNative.Memory(0);
        var result = new Result(c, name, trainer.ModelArgs.ParameterCount(), trainer.ModelArgs.VocabSize, tps, median, tflops, peak,
            100 * tflops / peak, memory.PeakReserved / (double)(1L << 30), [.. losses], []);
        Console.WriteLine(JsonSerializer.Serialize(result)); // the timed result first: a failure below loses only the phases
        Console.WriteLine(JsonSerializer.Serialize(result with { PhaseSeconds = Phases(trainer, device, config.Training.MaxNorm) }));
    }

    /// <summary>One more step with the device synchronized between its phases: where the step's time goes.</summary>
    private static Dictionary<string, double> Phases(Trainer trainer, Device device, double maxNorm)
    {
        using var scope = NewDisposeScope();
        var parts = trainer.Parts;
        var optimizer = trainer.Optimizer;
        var tokens = randint(0, trainer.ModelArgs.VocabSize, [1, trainer.ModelArgs.MaxSeqLen + 1]).to(device);
        var inputs = tokens[.., ..^1].contiguous();
        var labels = tokens[.., 1..].reshape(-1).contiguous();
        var times = new Dictionary<string, double>();
        void Time(string name, Action a)
        {
            ComputeDevice.Synchronize(device);
            var sw = Stopwatch.StartNew();
            a();
            ComputeDevice.Synchronize(device);
            times[name] = sw.Elapsed.TotalSeconds;
        }
        Time("zero_grad", optimizer.ZeroGrad);
        Time("forward_backward", () => parts.ForwardBackward(inputs, labels, 1));
        Time("clip_grad_norm", () => GradientClipping.ClipToGlobalSumOfSquares(optimizer.Parameters, maxNorm, parts.GradientSumOfSquares()));
        Time("optimizer", () => { optimizer.Step(); parts.ParametersUpdated(); });
        return times;
    }
}
