using SharpTitan.Distributed;
using SharpTitan.Float8;
using SharpTitan.Models.Llama3;
using SharpTitan.Optim;
using TorchSharp;
using static TorchSharp.torch;

namespace SharpTitan.Parallel;

/// <summary>
/// A Llama 3 model split into pipeline stages, behind <see cref="IModelParts"/>: each pp rank trains the parameters
/// of its stages (the other stages' parameters are freed on it); a step is the schedule (<see cref="PipelineRunner"/>);
/// the loss comes from the last stage; the gradient norm sums every stage's squares; checkpoints hold whole global
/// tensors (or FSDP shards of them), each written once, so they load into any other layout. With data parallelism
/// the stages' parameters are sharded over the pp rank's data-parallel ranks (<see cref="StageSharding"/>).
/// </summary>
internal sealed class PipelineModelParts : IModelParts
{
    private readonly PipelinePlan _plan;
    private readonly DeviceMesh _mesh;
    private readonly PipelineRunner _runner;
    private readonly IDisposable? _checkpointing;
    private readonly StageSharding? _sharding;
    private readonly List<(string Name, TorchSharp.Modules.Parameter Value)> _owned;
    private readonly Tensor _empty;
    private readonly IReadOnlyList<PipelineStage> _stages;
    private readonly TensorParallel? _tp;
    private readonly Float8Converter? _float8;
    private readonly ContextParallel? _cp;
    private readonly AsyncTensorParallel? _asyncTp;
    private readonly DeferredWeightGradients? _deferred;
    private readonly TiedEmbedding? _tied;

    public Transformer Model { get; }
    public Device Device { get; }
    public ScalarType ComputeDtype { get; }
    public bool ReportsMfu => _float8 == null;
    public long TotalParameters { get; }
    public long ParameterAllGatherBytes => _sharding?.AllGatherBytes ?? 0;
    public IReadOnlyList<Tensor> OptimizerParameters { get; }
    public IReadOnlyDictionary<string, long[]> GlobalShapes { get; }

    private IProcessGroup Pp => _mesh.Pp;

    /// <param name="computeDtype">The parameters' and activations' dtype (with <paramref name="shard"/> the model is still fp32 and is converted here).</param>
    /// <param name="shard">Shard the stages' parameters over the data-parallel ranks (FSDP / HSDP / DDP).</param>
    /// <param name="tp">Tensor parallel, already applied to the model (its parameters are this TP rank's blocks).</param>
    /// <param name="float8">The float8 converter applied to the model's linears, if any (disposed with the parts).</param>
    /// <param name="cp">Context parallel, already installed in the model: every stage runs on this rank's part of each sequence.</param>
    /// <param name="asyncTp">Async TP's overlapped collectives, installed in the model (disposed with the parts).</param>
    /// <param name="recomputes">Whether block i recomputes in backward (activation checkpointing), for split backwards.</param>
    public PipelineModelParts(Transformer model, Device device, ScalarType computeDtype, PipelinePlan plan, DeviceMesh mesh,
        IDisposable? checkpointing, bool shard, bool overlap, TensorParallel? tp, Float8Converter? float8, ContextParallel? cp = null,
        AsyncTensorParallel? asyncTp = null, Func<int, bool>? recomputes = null)
    {
        (Model, Device, ComputeDtype, _plan, _mesh, _checkpointing, _tp, _float8, _cp, _asyncTp) =
            (model, device, computeDtype, plan, mesh, checkpointing, tp, float8, cp, asyncTp);
        var mine = plan.StagesOf(mesh.Pp.Rank).ToList();
        // Split backwards (zero-bubble schedules) take the plain linears' weight gradients as W's own matmuls.
        _deferred = plan.Schedule.SplitsBackward() ? new DeferredWeightGradients(mine.SelectMany(s => PipelineStage.LinearLayers(model, s))) : null;
        _stages = mine.Select(s => new PipelineStage(model, s, recomputes, _deferred)).ToList();
        _tied = TiedEmbedding.For(model.Args.TieEmbeddings, plan, mesh.Pp);
        bool Owned(string name) => _stages.Any(s => s.Modules.Owns(name)) || (_tied?.Keeps(name) ?? false);
        GlobalShapes = model.named_parameters().ToDictionary(p => p.name, p => Place(p.name, p.parameter.shape).Shape);

        Tensor? values = null;
        if (shard)
        {
            // Full fp32 values first: converting the model to the compute dtype replaces its parameters.
            using (no_grad())
            using (var scope = NewDisposeScope())
                values = cat(model.named_parameters().Where(p => Owned(p.name)).Select(p => p.parameter.detach().reshape(-1)).ToList(), 0)
                    .DetachFromDisposeScope();
            if (computeDtype != ScalarType.Float32) model.to(computeDtype);
        }
        _owned = model.named_parameters().Where(p => Owned(p.name)).Select(p => (p.name, p.parameter)).ToList();

        // The other stages' parameters are neither trained nor kept here: they point at an empty tensor (as FSDP's
        // freed parameters), so a rank holds only its stages' weights, gradients and optimizer state.
        _empty = empty(0, computeDtype, device: device).DetachFromDisposeScope();
        using (no_grad())
            foreach (var (name, p) in model.named_parameters())
                if (!Owned(name))
                {
                    p.requires_grad = false;
                    p.set_(_empty);
                }

        if (values is not null)
        {
            Action<string, Tensor>? beforeReduce = (tp, _tied) switch
            {
                (null, null) => null,
                _ => (name, grad) => { tp?.ReducePartialGradient(name, grad); _tied?.SumGradient(name, grad); },
            };
            _sharding = new StageSharding(_owned, values, mesh, computeDtype, overlap, beforeReduce,
                float8 is { Options.FsdpFloat8AllGather: true } ? float8 : null, float8?.Options.PrecomputeScales ?? false);
            values.Dispose();
            OptimizerParameters = _sharding.Shards;
            TotalParameters = _sharding.TotalParameters;
        }
        else
        {
            OptimizerParameters = _owned.Select(p => (Tensor)p.Value).ToList();
            TotalParameters = OptimizerParameters.Sum(p => p.numel());
        }
        _runner = new PipelineRunner(plan, _stages, mesh.Pp, model.Args.Dim, computeDtype, tp);
    }

    public double ForwardBackward(Tensor inputs, Tensor labels, int accumulationSteps)
    {
        if (_cp is { } cp)
        {
            // This rank's load-balanced part of each sequence and of its labels; activations between stages are that part.
            inputs = cp.ShardSequence(inputs);
            labels = cp.ShardSequence(labels.view(inputs.shape[0], -1)).reshape(-1);
        }
        _sharding?.Gather();
        // FSDP sums the tied embedding's gradient before its reduce-scatter; without it, this local batch's part here.
        var tied = _sharding == null && _tied != null ? _owned.FirstOrDefault(p => p.Name == TiedEmbedding.Weight).Value : null;
        using var earlier = tied?.grad?.detach().clone();
        double loss = _runner.Step(inputs, labels, accumulationSteps);
        if (tied?.grad is { } g)
            using (no_grad())
            {
                if (earlier is not null) g.sub_(earlier);
                _tied!.SumGradient(TiedEmbedding.Weight, g);
                if (earlier is not null) g.add_(earlier);
            }
        _sharding?.ReduceAndFree();
        return loss;
    }

    // The last stage computed the loss: every pp rank reports its value, averaged over the data- and context-parallel
    // ranks (equal token counts).
    public double ReportedLoss(double localLoss)
    {
        using var t = tensor(new[] { localLoss }, ScalarType.Float64, device: Pp.Device);
        Pp.Broadcast(t, _plan.RankOf(_plan.Stages.Count - 1));
        if (_sharding != null) _mesh.DpCp.AllReduce(t, ReduceOp.Avg);
        return t.item<double>();
    }

    /// <summary>
    /// Every element once: shards summed over the shard group, TP blocks over the TP group (replicated norms counted
    /// on TP rank 0; under sequence parallel their partial gradients summed first), stages over the pp group.
    /// </summary>
    public double GradientSumOfSquares()
    {
        if (_sharding == null) _tp?.ReducePartialGradients(); // FSDP sums them before its reduce-scatter
        var grads = (_sharding?.ShardGradients()
            ?? _owned.Where(p => p.Value.grad is not null).Select(p => (p.Name, p.Value.grad!)))
            .Where(g => !(_tied?.Keeps(g.Item1) ?? false)); // the tied copy counts once, on the first stage's rank
        double local = _tp?.SumOfSquares(grads) ?? grads.Sum(g => GradientClipping.SumOfSquares(g.Item2));
        if (_sharding != null) local = _sharding.SumOverShards(local);
        using var t = tensor(new[] { local }, ScalarType.Float64, device: Pp.Device);
        if (_tp != null) _tp.Group.AllReduce(t);
        Pp.AllReduce(t);
        return t.item<double>();
    }

    public void ParametersUpdated() => _sharding?.ParametersUpdated();

    public Tensor EvaluationLogits(Tensor tokens)
    {
        _sharding?.Gather();
        try
        {
            if (_cp is not { } cp) return _runner.EvaluationLogits(tokens, Model.Args.VocabSize);
            using var local = cp.ShardSequence(tokens);
            using var logits = _runner.EvaluationLogits(local, Model.Args.VocabSize);
            return cp.GatherSequence(logits);
        }
        finally { _sharding?.Free(); }
    }

    /// <summary>Each parameter broadcast from the pp rank whose stage owns it, in the model's order.</summary>
    public IReadOnlyList<(string Name, Tensor Value)> FullParameters()
    {
        using var _ = no_grad();
        var full = _sharding?.FullParameters(); // collective over the shard group
        var dtype = _sharding != null ? ScalarType.Float32 : ComputeDtype;
        var owned = _owned.ToDictionary(p => p.Name, p => p.Value);
        var result = new List<(string, Tensor)>();
        foreach (var (name, shape) in GlobalShapes)
        {
            int owner = _plan.RankOf(_plan.Stages.First(s => s.Owns(name)).Index);
            var value = owner != Pp.Rank ? empty(shape, dtype, device: Device)
                : full != null ? full[name] : owned[name].detach().clone();
            if (owner == Pp.Rank && _tp != null) using (var local = value) value = _tp.FullValue(name, local); // collective over TP
            Pp.Broadcast(value, owner);
            result.Add((name, value));
        }
        return result;
    }

    public List<StatePiece> StatePieces(string prefix, IReadOnlyList<Tensor> likeOptimizerParameters, bool forSave)
    {
        // Replicas (dp_replicate) write nothing; tensors replicated over TP (the norms) are written by TP rank 0.
        bool Skip(string name) => forSave && ((_tp is { } tp && tp.Group.Rank != 0 && tp.IsReplicated(name)) || (_tied?.Keeps(name) ?? false));
        if (_sharding != null)
            return forSave && !_sharding.OwnsShard ? [] : _sharding.StatePieces(prefix, likeOptimizerParameters, Place, Skip).ToList();
        var pieces = new List<StatePiece>();
        foreach (var ((name, _), t) in _owned.Zip(likeOptimizerParameters))
        {
            var flat = t.detach().view(-1);
            // A TP rank's block may be empty (a vocabulary that does not divide): nothing to save or load then.
            if (Skip(name) || flat.numel() == 0) continue;
            var (shape, block) = Place(name, t.shape);
            pieces.Add(new StatePiece(prefix + name, shape, flat, 0, 0, flat.numel(), block));
        }
        return pieces;
    }

    private (long[] Shape, TensorBlock? Block) Place(string name, long[] localShape) => _tp?.Place(name, localShape) ?? (localShape, null);

    public IEnumerable<string> Describe()
    {
        yield return _plan.ToString();
        foreach (var s in _stages)
            yield return $"pp rank {Pp.Rank}: {s.Modules}; schedule {string.Join(" ", _runner.Actions.Take(32))}" +
                         (_runner.Actions.Count > 32 ? $" ... ({_runner.Actions.Count} actions)" : "");
        if (_sharding != null) yield return _sharding.Describe(Pp.Rank);
        if (_tp is { } tp)
            yield return $"pipeline x tensor parallel: degree {tp.Group.Size}, sequence parallel {(tp.Options.SequenceParallel ? "on" : "off")}, loss parallel {(tp.Options.LossParallel ? "on" : "off")}, async {(_asyncTp != null ? "on" : "off")}";
        if (_cp is { } cp) yield return "pipeline x " + cp.Describe();
        yield return $"pipeline compute dtype: {ComputeDtype.ToString().ToLowerInvariant()}" + (_sharding == null ? " (as torchtitan, mixed precision needs data parallelism: training.dtype applies)" : "");
    }

    public IEnumerable<string> Summarize(int steps, TimeSpan elapsed)
    {
        double wait = _runner.WaitTime.TotalSeconds, step = _runner.StepTime.TotalSeconds;
        if (steps == 0 || step <= 0) yield break;
        yield return $"pipeline: pp rank {Pp.Rank} waited {wait:F2} s of {step:F2} s in the schedule for other stages " +
                     $"({100 * wait / step:F1}%; the schedule's bubble is {100 * _runner.TheoreticalBubble:F1}% in theory)";
        if (_sharding != null)
            yield return FsdpModel.AllGatherSummary(_sharding.AllGatherBytes, steps, _float8 is { Options.FsdpFloat8AllGather: true });
    }

    public void Dispose()
    {
        _sharding?.Dispose();
        _deferred?.Dispose();
        _tied?.Dispose();
        _asyncTp?.Dispose();
        _tp?.Dispose();
        _float8?.Dispose();
        _cp?.Dispose();
        _checkpointing?.Dispose();
        Model.Dispose();
        _empty.Dispose();
    }
}
