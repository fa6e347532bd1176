using System.Diagnostics;
using System.Text.Json;
using SharpTitan.Config;
using SharpTitan.Distributed;
using SharpTitan.Distributed.Nccl;
using SharpTitan.Kernels;
using SharpTitan.Metrics;
using SharpTitan.Models.Llama3;
using SharpTitan.Native;
using SharpTitan.Optim;
using SharpTitan.Parallel;
using SharpTitan.Precision;
using SharpTitan.Training;
using static TorchSharp.torch;

namespace SharpTitan.Benchmarks;

/// <summary>
/// One GPU training case (benchmarks/gpu/run.sh runs each in its own process, beside PyTorch on the same shapes):
/// a Llama 3 flavor, optionally with fewer layers, at local batch 1, bf16 compute over fp32 masters, AdamW, with an
/// activation-checkpointing mode and optionally Float8. Prints one JSON line: median tokens/s of the timed steps
/// (device synchronized), MFU against the datasheet peak, the caching allocator's peak reserved memory.
/// <see cref="Case.Fsdp"/>: the same step through FSDP over a one-rank NCCL mesh (issue 17: FSDP's cost on one GPU
/// against the plain row; torchtitan wraps nothing at world size 1, so the trainer would not either).
/// <see cref="Case.Device"/> "cpu" runs a case on the CPU (a smoke test of this code on a machine without a GPU).
/// </summary>
public static class GpuBench
{
    public sealed record Case(string Flavor, int Layers, string Ac, bool Float8, int SeqLen, int Steps, int Warmup = 2, bool Fsdp = false, string Device = "cuda",
        string NormType = "fused_rmsnorm", string MixedPrecisionImpl = "master_copy");
    public sealed record Result(Case Case, string Device, long Parameters, int Vocab, double MedianTokensPerSecond, double MedianStepSeconds,
        double Tflops, double PeakTflops, double MfuPercent, double PeakReservedGiB, double[] Losses, Dictionary<string, double> PhaseSeconds);

    /// <summary>NaN where a CPU smoke run has no peak or device memory (Python's json reads it).</summary>
    private static readonly JsonSerializerOptions Json = new() { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public static void RunCase(Case c)
    {
        if (c.Fsdp) { RunFsdpCase(c); return; }
        var args = new List<string>
        {
            "--training.device", c.Device, "--model.flavor", c.Flavor, "--model.tokenizer_path", "cl100k_base",
            "--training.dataset", "sample", "--training.local_batch_size", "1", "--training.seq_len", c.SeqLen.ToString(),
            "--training.steps", (c.Warmup + c.Steps).ToString(), "--activation_checkpoint.mode", c.Ac, "--model.norm_type", c.NormType,
            "--training.mixed_precision_impl", c.MixedPrecisionImpl,
        };
        if (c.Float8) args.AddRange(["--model.converters", "float8"]);
        var config = BenchConfig.Create([.. args]);
        var shape = ModelFlavors.Llama3[c.Flavor] with { NLayers = c.Layers };
        using var trainer = new Trainer(config, Console.Out, shape);
        var device = c.Device == "cpu" ? ComputeDevice.Cpu : new Device(TorchSharp.DeviceType.CUDA, 0);
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
        var (name, peak, reservedGiB) = DeviceFigures(device);
        var result = new Result(c, name, trainer.ModelArgs.ParameterCount(), trainer.ModelArgs.VocabSize, tps, median, tflops, peak,
            100 * tflops / peak, reservedGiB, [.. losses], []);
        Console.WriteLine(JsonSerializer.Serialize(result, Json)); // the timed result first: a failure below loses only the phases
        Console.WriteLine(JsonSerializer.Serialize(result with { PhaseSeconds = Phases(trainer, device, config.Training.MaxNorm) }, Json));
    }

    private static (string Name, double Peak, double PeakReservedGiB) DeviceFigures(Device device)
    {
        if (!ComputeDevice.IsCuda(device)) return ("cpu", double.NaN, double.NaN);
        var (name, _, _, _) = CudaNative.Properties(0);
        return (name, PeakFlops.GpuDatasheetPeak(name) ?? double.NaN, CudaNative.Memory(0).PeakReserved / (double)(1L << 30));
    }

    /// <summary>
    /// The plain case's shapes and step (bf16 compute, fp32 shards, AdamW, clipping) through FSDP over a one-rank mesh:
    /// NCCL's on CUDA, a host group on the CPU; random tokens (the step's cost does not depend on them).
    /// </summary>
    private static void RunFsdpCase(Case c)
    {
        var config = BenchConfig.Create("--training.device", c.Device, "--training.seq_len", c.SeqLen.ToString(),
            "--training.local_batch_size", "1", "--activation_checkpoint.mode", c.Ac);
        var device = ComputeDevice.Choose(c.Device == "cpu" ? DeviceChoice.Cpu : DeviceChoice.Cuda);
        using IProcessGroup world = ComputeDevice.IsCuda(device) ? NcclProcessGroup.Create(new SingleProcessGroup("bootstrap"), device) : new SingleProcessGroup();
        using var mesh = new DeviceMesh(new ParallelDims(1, 1, 1, 1, 1, 1), world);
        var shape = ModelFlavors.Llama3[c.Flavor] with { NLayers = c.Layers, VocabSize = 100277, MaxSeqLen = c.SeqLen };
        manual_seed(0);
        var model = new Transformer(shape);
        model.InitWeights();
        ComputeDevice.Place(model, device);
        if (c.NormType == "fused_rmsnorm") FusedRmsNorm.Install(model); // as Llama3Parallelize does for the plain rows
        var ac = ActivationCheckpointPlan.For(config.ActivationCheckpoint, shape.NLayers);
        using var checkpointing = ActivationCheckpointing.Apply(model, ac, dataParallel: true);
        var mixed = MixedPrecision.Apply(model, config.Training, ScalarType.Float32, ScalarType.BFloat16, dataParallel: true, device);
        var fsdp = new FsdpModel(model, mesh, new FsdpOptions(ReshardPolicy.Default, ScalarType.BFloat16, Overlap: true, Checkpoint: ac.FullLayers));
        model.train();
        var parts = new Llama3ModelParts(model, device, ScalarType.BFloat16,
            new AppliedTransforms(mesh, null, null, null, null, ac, checkpointing, mixed, fsdp, "fsdp, one rank"));
        var o = config.Optimizer;
        var optimizer = new AdamW(parts.OptimizerParameters, o.Lr, o.Beta1, o.Beta2, o.Eps, o.WeightDecay, decoupled: true);
        var seconds = new List<double>();
        var losses = new List<double>();
        for (int step = 1; step <= c.Warmup + c.Steps; step++)
        {
            using var scope = NewDisposeScope();
            var tokens = randint(0, shape.VocabSize, [1, c.SeqLen + 1]).to(device);
            var inputs = tokens[.., ..^1].contiguous();
            var labels = tokens[.., 1..].reshape(-1).contiguous();
            ComputeDevice.Synchronize(device);
            var sw = Stopwatch.StartNew();
            optimizer.ZeroGrad();
            double loss = parts.ReportedLoss(parts.ForwardBackward(inputs, labels, 1));
            GradientClipping.ClipToGlobalSumOfSquares(optimizer.Parameters, config.Training.MaxNorm, parts.GradientSumOfSquares());
            optimizer.Step();
            parts.ParametersUpdated();
            ComputeDevice.Synchronize(device);
            if (step > c.Warmup) seconds.Add(sw.Elapsed.TotalSeconds);
            losses.Add(loss);
        }
        double median = BenchConfig.Median(seconds);
        double tps = c.SeqLen / median;
        double tflops = shape.FlopsPerToken(c.SeqLen) * tps / 1e12;
        var (name, peak, reservedGiB) = DeviceFigures(device);
        Console.WriteLine(JsonSerializer.Serialize(new Result(c, name, shape.ParameterCount(), shape.VocabSize, tps, median, tflops, peak,
            100 * tflops / peak, reservedGiB, [.. losses], []), Json));
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
