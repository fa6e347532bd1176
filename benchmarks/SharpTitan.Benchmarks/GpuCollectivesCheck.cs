using System.Text.Json;
using SharpTitan.Config;
using SharpTitan.Distributed;
using SharpTitan.Distributed.Nccl;
using SharpTitan.Models.Llama3;
using SharpTitan.Native;
using SharpTitan.Optim;
using SharpTitan.Parallel;
using static TorchSharp.torch;

namespace SharpTitan.Benchmarks;

/// <summary>
/// The NCCL checks of benchmarks/gpu/run.sh, on one GPU (world size 1: NCCL refuses two ranks on one GPU). Every
/// collective and dtype through our binding, blocking and async (the async ones read a tensor that a long matmul
/// has just produced on the compute stream, so a missing stream order shows as wrong values), send/receive batches to
/// itself (matched in order); then FSDP, TP and
/// async TP over a one-rank NCCL mesh against the plain model: one training step, loss, gradient norm and
/// updated parameters. Prints one JSON line per check.
/// </summary>
public static class GpuCollectivesCheck
{
    /// <param name="hostOnly">Only the layout comparisons, on the CPU over one-rank host groups (checks this check).</param>
    public static int Run(bool hostOnly = false)
    {
        if (hostOnly)
        {
            using var hostMesh = new DeviceMesh(new ParallelDims(1, 1, 1, 1, 1, 1), new SingleProcessGroup());
            foreach (var layout in (string[])["fsdp", "tp", "async_tp"])
                { var (loss, norm, param) = CompareStep(hostMesh, ComputeDevice.Cpu, layout); Console.WriteLine(JsonSerializer.Serialize(new { layout, loss, norm, param })); }
            return 0;
        }
        var device = ComputeDevice.Choose(DeviceChoice.Cuda);
        using var world = NcclProcessGroup.Create(new SingleProcessGroup("bootstrap"), device);
        int failures = 0;
        void Report(string name, bool ok, object figures)
        {
            if (!ok) failures++;
            Console.WriteLine(JsonSerializer.Serialize(new { name, ok, figures, nccl = NcclLibrary.VersionText }));
        }
        foreach (var dtype in (ScalarType[])[ScalarType.Float32, ScalarType.BFloat16, ScalarType.Float16, ScalarType.Float64, ScalarType.Int64, ScalarType.Int32, ScalarType.Byte])
            Report($"collectives_{dtype}", Collectives(world, device, dtype, out var detail), detail);
        Report("async_waits_for_compute", AsyncOrder(world, device, out double diff), new { max_abs_diff = diff });
        using (var sub = world.Split(0, 0, "sub"))
        using (var t = ones(8, device: device))
        {
            sub.AllReduce(t);
            Report("split", sub.Size == 1 && sub.Rank == 0 && t.sum().item<float>() == 8, new { sub.Size });
        }
        using var mesh = new DeviceMesh(new ParallelDims(1, 1, 1, 1, 1, 1), world);
        foreach (var layout in (string[])["fsdp", "tp", "async_tp"])
        {
            var (loss, gradNorm, paramDiff) = CompareStep(mesh, device, layout);
            Report($"{layout}_vs_plain", loss < 1e-5 && gradNorm < 1e-4 && paramDiff < 1e-5,
                new { loss_abs_diff = loss, grad_norm_rel_diff = gradNorm, param_max_abs_diff = paramDiff });
        }
        return failures == 0 ? 0 : 1;
    }

    /// <summary>Each collective on a one-rank group returns its input (gathers copy, reductions keep, broadcast keeps).</summary>
    private static bool Collectives(NcclProcessGroup g, Device device, ScalarType dtype, out object detail)
    {
        using var scope = NewDisposeScope();
        var x = arange(1000, device: device).remainder(97).to(dtype);
        var checks = new Dictionary<string, bool>();
        bool Same(Tensor a) => a.cpu().to(ScalarType.Float64).allclose(x.cpu().to(ScalarType.Float64), rtol: 0, atol: 0);
        bool floating = dtype is ScalarType.Float32 or ScalarType.BFloat16 or ScalarType.Float16 or ScalarType.Float64;
        foreach (var op in floating ? (ReduceOp[])[ReduceOp.Sum, ReduceOp.Avg, ReduceOp.Max, ReduceOp.Min] : [ReduceOp.Sum, ReduceOp.Max, ReduceOp.Min])
        {
            var y = x.clone();
            g.AllReduce(y, op);
            checks[$"all_reduce_{op}"] = Same(y);
            var z = x.clone();
            g.AllReduceAsync(z, op).Wait();
            checks[$"all_reduce_async_{op}"] = Same(z);
        }
        var gathered = zeros_like(x);
        g.AllGather(gathered, x);
        checks["all_gather"] = Same(gathered);
        var gatheredAsync = zeros_like(x);
        g.AllGatherAsync(gatheredAsync, x).Wait();
        checks["all_gather_async"] = Same(gatheredAsync);
        var scattered = zeros_like(x);
        g.ReduceScatter(scattered, x);
        checks["reduce_scatter"] = Same(scattered);
        var scatteredAsync = zeros_like(x);
        g.ReduceScatterAsync(scatteredAsync, x).Wait();
        checks["reduce_scatter_async"] = Same(scatteredAsync);
        var b = x.clone();
        g.Broadcast(b, 0);
        checks["broadcast"] = Same(b);
        var received = zeros_like(x);
        g.ExchangeAsync([PeerTransfer.Send(x, 0), PeerTransfer.Receive(received, 0)])[1].Wait();
        checks["send_recv_self"] = Same(received);
        // A batch (one group call on the comm stream): transfers to self meet in order, the n-th send the n-th receive.
        var (first, second) = (zeros_like(x), zeros_like(x));
        g.ExchangeAsync([PeerTransfer.Send(x, 0, 1), PeerTransfer.Send(x.flip(0), 0, 2), PeerTransfer.Receive(first, 0, 1), PeerTransfer.Receive(second, 0, 2)])[2].Wait();
        checks["exchange_batch_self"] = Same(first) && Same(second.flip(0));
        g.Barrier();
        detail = checks;
        return checks.Values.All(v => v);
    }

    /// <summary>An async all-gather of a matmul's result, queued right after it: the comm stream must wait for it.</summary>
    private static bool AsyncOrder(NcclProcessGroup g, Device device, out double maxDiff)
    {
        using var scope = NewDisposeScope();
        var a = randn(8192, 8192, device: device);
        var input = a.matmul(a).matmul(a); // tens of milliseconds on the compute stream
        var output = zeros_like(input);
        var work = g.AllGatherAsync(output, input);
        work.Wait();
        maxDiff = (output - input).abs().max().item<float>();
        // The same for a send/receive batch (pipeline stages, context parallel's ring).
        var again = input.matmul(a);
        var exchanged = zeros_like(again);
        g.ExchangeAsync([PeerTransfer.Send(again, 0), PeerTransfer.Receive(exchanged, 0)])[1].Wait();
        maxDiff = Math.Max(maxDiff, (exchanged - again).abs().max().item<float>());
        return maxDiff == 0;
    }

    /// <summary>One AdamW step of the debug model through the layout's real code path against the plain model.</summary>
    private static (double Loss, double GradNorm, double ParamDiff) CompareStep(DeviceMesh mesh, Device device, string layout)
    {
        using var scope = NewDisposeScope();
        var args = ModelFlavors.Llama3["debugmodel"] with { VocabSize = 2048, MaxSeqLen = 256 };
        manual_seed(7);
        var tokens = randint(0, args.VocabSize, [4, 257]).to(device);
        var inputs = tokens[.., ..^1].contiguous();
        var labels = tokens[.., 1..].reshape(-1).contiguous();
        var plain = Step(Build(args, device, mesh, "plain"), inputs, labels);
        var other = Step(Build(args, device, mesh, layout), inputs, labels);
        double paramDiff = 0;
        foreach (var (name, value) in plain.Params)
            paramDiff = Math.Max(paramDiff, (value - other.Params[name]).abs().max().item<float>());
        return (Math.Abs(plain.Loss - other.Loss), Math.Abs(plain.GradNorm - other.GradNorm) / plain.GradNorm, paramDiff);
    }

    private static Llama3ModelParts Build(ModelArgs args, Device device, DeviceMesh mesh, string layout)
    {
        manual_seed(0);
        var model = new Transformer(args);
        model.InitWeights();
        ComputeDevice.Place(model, device);
        var ac = ActivationCheckpointPlan.For(new ActivationCheckpointSection(), args.NLayers);
        TensorParallel? tp = layout is "tp" or "async_tp" ? new TensorParallel(model, mesh.Tp, new TensorParallelOptions(true, true, layout == "async_tp")) : null;
        var asyncTp = layout == "async_tp" ? AsyncTensorParallel.Apply(model, tp!) : null;
        var fsdp = layout == "fsdp" ? new FsdpModel(model, mesh, new FsdpOptions(ReshardPolicy.Default, ScalarType.Float32, Overlap: true)) : null;
        model.train();
        return new Llama3ModelParts(model, device, ScalarType.Float32,
            new AppliedTransforms(layout == "plain" ? null : mesh, tp, null, asyncTp, null, ac, null, null, fsdp, fsdp != null ? "fsdp" : null));
    }

    private static (double Loss, double GradNorm, Dictionary<string, Tensor> Params) Step(Llama3ModelParts parts, Tensor inputs, Tensor labels)
    {
        var optimizer = new AdamW(parts.OptimizerParameters, 1e-3, 0.9, 0.95, 1e-8, 0.1);
        double loss = parts.ReportedLoss(parts.ForwardBackward(inputs, labels, 1));
        double norm = GradientClipping.ClipToGlobalSumOfSquares(optimizer.Parameters, 1.0, parts.GradientSumOfSquares());
        optimizer.Step();
        parts.ParametersUpdated();
        var full = parts.FullParameters().ToDictionary(p => p.Name, p => p.Value.detach().clone());
        return (loss, norm, full);
    }
}
