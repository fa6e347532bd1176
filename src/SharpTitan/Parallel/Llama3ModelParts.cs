using SharpTitan.Distributed;
using SharpTitan.Float8;
using SharpTitan.Metrics;
using SharpTitan.Models.Llama3;
using SharpTitan.Native;
using SharpTitan.Optim;
using SharpTitan.Precision;
using static TorchSharp.torch;

namespace SharpTitan.Parallel;

/// <summary>The transforms <see cref="Llama3Parallelize"/> applied, each null when its step did not apply.</summary>
internal sealed record AppliedTransforms(
    DeviceMesh? Mesh,
    TensorParallel? Tp,
    Float8Converter? Float8,
    AsyncTensorParallel? AsyncTp,
    ContextParallel? Cp,
    ActivationCheckpointPlan Ac,
    IDisposable? Checkpointing,
    IMixedPrecision? Mixed,
    FsdpModel? Fsdp,
    string? FsdpDescription);

/// <summary>
/// A Llama 3 model with the transforms <see cref="Llama3Parallelize"/> applied, behind <see cref="IModelParts"/>.
/// The only place that combines them: which forward runs (FSDP's or the model's), which loss (loss parallel or
/// plain cross-entropy), how gradients are counted in the norm (FSDP shards once, TP replicated norms once), which
/// tensors the optimizer owns (shards, fp32 masters or the parameters) and how they map to global tensors.
/// </summary>
internal sealed class Llama3ModelParts : IModelParts
{
    private readonly AppliedTransforms _t;
    private readonly TimeSpan _tpCommAtStart = TpComm.Elapsed;

    public Transformer Model { get; }
    public Device Device { get; }
    public ScalarType ComputeDtype { get; }
    public bool ReportsMfu => _t.Float8 == null;
    public long TotalParameters { get; }
    public long ParameterAllGatherBytes => _t.Fsdp?.AllGatherBytes ?? 0;
    public IReadOnlyList<Tensor> OptimizerParameters { get; }
    public IReadOnlyDictionary<string, long[]> GlobalShapes { get; }

    public Llama3ModelParts(Transformer model, Device device, ScalarType computeDtype, AppliedTransforms transforms)
    {
        (Model, Device, ComputeDtype, _t) = (model, device, computeDtype, transforms);
        OptimizerParameters = _t.Fsdp?.Shards ?? _t.Mixed?.Masters ?? model.parameters().Cast<Tensor>().ToList();
        TotalParameters = _t.Fsdp?.TotalParameters ?? OptimizerParameters.Sum(p => p.numel());
        var local = _t.Fsdp != null
            ? _t.Fsdp.ShardLayouts.SelectMany(l => l.Parameters).Select(p => (p.Name, p.Shape))
            : model.named_parameters().Select(p => (p.name, p.parameter.shape));
        GlobalShapes = local.ToDictionary(p => p.Item1, p => Place(p.Item1, p.Item2).Shape);
    }

    public double ForwardBackward(Tensor inputs, Tensor labels, int accumulationSteps)
    {
        if (_t.Cp is { } cp)
        {
            // This rank's load-balanced part of each sequence, and of its labels.
            inputs = cp.ShardSequence(inputs);
            labels = cp.ShardSequence(labels.view(inputs.shape[0], -1)).reshape(-1);
        }
        double lossValue;
        // The graph's own scope ends with backward: custom autograd nodes (TorchSharp's) hold their saved tensors until
        // the graph itself is freed, which would otherwise keep them through the gradient work below.
        var graph = NewDisposeScope();
        Tensor loss;
        try
        {
            using (Tracer.Begin("forward"))
            using (_t.Mixed?.Forward())
            {
                var logits = _t.Fsdp != null ? _t.Fsdp.Forward(inputs) : Model.forward(inputs);
                loss = Loss(logits.flatten(0, 1), labels) / accumulationSteps;
            }
        }
        catch
        {
            graph.Dispose();
            throw;
        }
        using (Tracer.Begin("backward"))
        {
            using (graph)
            {
                loss.backward();
                lossValue = loss.item<float>();
            }
            BackwardScope.ReleaseAll();
            _t.Fsdp?.FinishBackward();
            _t.Mixed?.AfterBackward();
        }
        return lossValue;
    }

    private Tensor Loss(Tensor logits, Tensor labels) => LossParallel.TrainingLoss(logits, labels, _t.Tp);

    // Data- and context-parallel ranks saw equal token counts: the average of their losses is the global batch's.
    public double ReportedLoss(double localLoss) =>
        _t.Fsdp != null ? AllReduceScalar(_t.Mesh!.DpCp, localLoss, ReduceOp.Avg) : localLoss;

    /// <summary>
    /// Every element once: FSDP shard groups sum their shards (dp_replicate ranks hold copies, so not over those);
    /// TP ranks sum their blocks, replicated norms counted on TP rank 0 only.
    /// </summary>
    public double GradientSumOfSquares()
    {
        if (_t.Tp is not { } tp)
            return SumOverShards(GradientClipping.LocalSumOfSquares(OptimizerParameters));
        // Sequence-parallel norm gradients are partial per TP rank: FSDP sums them before its reduce-scatter, else here.
        if (_t.Fsdp == null) tp.ReducePartialGradients();
        var grads = _t.Fsdp != null ? _t.Fsdp.ShardGradients()
            : Model.named_parameters().Where(p => p.parameter.grad is not null).Select(p => (p.name, p.parameter.grad!));
        return AllReduceScalar(tp.Group, SumOverShards(tp.SumOfSquares(grads)), ReduceOp.Sum);
    }

    private double SumOverShards(double local) =>
        _t.Fsdp != null ? AllReduceScalar(_t.Mesh!.DpShardCp, local, ReduceOp.Sum) : local;

    public void ParametersUpdated()
    {
        _t.Mixed?.AfterStep();
        if (_t.Float8 is { Options.PrecomputeScales: true }) _t.Fsdp?.PrecomputeFloat8Scales();
    }

    // Validation needs full logits: FSDP gathers parameters, loss-parallel TP gathers the vocabulary shards, context
    // parallel gathers the sequence.
    public Tensor EvaluationLogits(Tensor tokens)
    {
        var cp = _t.Cp;
        var input = cp != null ? cp.ShardSequence(tokens) : tokens;
        var logits = _t.Fsdp != null ? _t.Fsdp.Forward(input) : Model.forward(input);
        if (cp != null) input.Dispose();
        if (_t.Tp != null)
        {
            var local = logits;
            using (local) logits = _t.Tp.GatherLogits(local);
        }
        if (cp == null) return logits;
        using (logits) return cp.GatherSequence(logits);
    }

    public IReadOnlyList<(string Name, Tensor Value)> FullParameters()
    {
        using var _ = no_grad();
        IEnumerable<(string Name, Tensor Value)> values = _t.Fsdp?.FullParameters()
            ?? _t.Mixed?.NamedMasters.Select(m => (m.Name, m.Value.detach()))
            ?? Model.named_parameters().Select(p => (p.name, p.parameter.detach()));
        if (_t.Tp is { } tp) values = values.Select(p => (p.Name, tp.FullValue(p.Name, p.Value))); // collective over TP
        return values.ToList();
    }

    public List<StatePiece> StatePieces(string prefix, IReadOnlyList<Tensor> likeOptimizerParameters, bool forSave)
    {
        // HSDP/DDP: only the first dp_replicate rank writes a shard group's pieces (the others hold copies). Tensors
        // replicated over TP (the norms) are written by TP rank 0 only; loading fills them on every rank.
        if (forSave && _t.Fsdp is { OwnsShards: false }) return [];
        bool Skip(string name) => forSave && _t.Tp is { } tp && tp.Group.Rank != 0 && tp.IsReplicated(name);
        if (_t.Fsdp != null) return _t.Fsdp.StatePieces(prefix, likeOptimizerParameters, Place, Skip).ToList();
        var names = _t.Mixed?.NamedMasters.Select(m => m.Name) ?? Model.named_parameters().Select(p => p.name);
        var pieces = new List<StatePiece>();
        foreach (var (name, t) in names.Zip(likeOptimizerParameters))
        {
            var flat = t.detach().view(-1);
            // A TP rank's block may be empty (a vocabulary that does not divide): nothing to save or load then.
            if (Skip(name) || flat.numel() == 0) continue;
            var (shape, block) = Place(name, t.shape);
            pieces.Add(new StatePiece(prefix + name, shape, flat, 0, 0, flat.numel(), block));
        }
        return pieces;
    }

    private (long[] Shape, TensorBlock? Block) Place(string name, long[] localShape) =>
        _t.Tp?.Place(name, localShape) ?? (localShape, null);

    public IEnumerable<string> Describe()
    {
        if (_t.Ac.Any) yield return _t.Ac.Describe(dataParallel: _t.Fsdp != null);
        if (_t.Tp is { } tp)
            yield return $"tensor parallel: degree {tp.Group.Size}, sequence parallel {OnOff(tp.Options.SequenceParallel)}, " +
                         $"loss parallel {OnOff(tp.Options.LossParallel)}, async {OnOff(tp.Options.AsyncTp)}";
        if (_t.Cp is { } cp) yield return cp.Describe();
        if (_t.Fsdp is { } fsdp)
        {
            yield return _t.FsdpDescription!;
            yield return fsdp.MemorySummary();
        }
        if (_t.Mixed != null) yield return _t.Mixed.Describe();
    }

    public IEnumerable<string> Summarize(int steps, TimeSpan elapsed)
    {
        if (_t.Tp != null)
        {
            double comm = (TpComm.Elapsed - _tpCommAtStart).TotalSeconds, total = elapsed.TotalSeconds;
            yield return $"tensor parallel: {comm:F2} s of {total:F2} s {(_t.AsyncTp != null ? "waiting for async TP collectives" : "in TP collectives")} " +
                         $"over {steps} steps ({100 * comm / Math.Max(1e-9, total):F1}%)";
        }
        if (_t.Fsdp is { } fsdp && steps > 0)
            yield return FsdpModel.AllGatherSummary(fsdp.AllGatherBytes, steps, _t.Float8 is { Options.FsdpFloat8AllGather: true });
    }

    private static string OnOff(bool on) => on ? "on" : "off";

    private static double AllReduceScalar(IProcessGroup group, double value, ReduceOp op)
    {
        using var t = tensor(new[] { value }, ScalarType.Float64, device: group.Device);
        group.AllReduce(t, op);
        return t.item<double>();
    }

    public void Dispose()
    {
        _t.Fsdp?.Dispose();
        _t.AsyncTp?.Dispose();
        _t.Tp?.Dispose();
        _t.Cp?.Dispose();
        _t.Float8?.Dispose();
        _t.Checkpointing?.Dispose();
        _t.Mixed?.Dispose();
        Model.Dispose();
    }
}
