using SharpTitan.Distributed;
using SharpTitan.Models.Llama3;
using SharpTitan.Optim;
using static TorchSharp.torch;

namespace SharpTitan.Parallel;

/// <summary>
/// A Llama 3 model split into pipeline stages, behind <see cref="IModelParts"/>: each pp rank trains the parameters
/// of its stages (the optimizer sees only those); a step is the schedule (<see cref="PipelineRunner"/>); the loss
/// comes from the last stage; the gradient norm sums every stage's squares; checkpoints hold whole global tensors,
/// each written by the rank whose stage owns it, so they load into any other layout.
/// </summary>
internal sealed class PipelineModelParts : IModelParts
{
    private readonly PipelinePlan _plan;
    private readonly IProcessGroup _pp;
    private readonly IReadOnlyList<PipelineStage> _stages;
    private readonly PipelineRunner _runner;
    private readonly IDisposable? _checkpointing;
    private readonly List<(string Name, Tensor Value)> _owned;
    private readonly Tensor _empty;

    public Transformer Model { get; }
    public Device Device { get; }
    public ScalarType ComputeDtype { get; }
    public bool ReportsMfu => true;
    public long TotalParameters { get; }
    public long ParameterAllGatherBytes => 0;
    public IReadOnlyList<Tensor> OptimizerParameters { get; }
    public IReadOnlyDictionary<string, long[]> GlobalShapes { get; }

    public PipelineModelParts(Transformer model, Device device, ScalarType computeDtype, PipelinePlan plan, IProcessGroup pp, IDisposable? checkpointing)
    {
        (Model, Device, ComputeDtype, _plan, _pp, _checkpointing) = (model, device, computeDtype, plan, pp, checkpointing);
        _stages = plan.StagesOf(pp.Rank).Select(s => new PipelineStage(model, s)).ToList();
        _owned = model.named_parameters().Where(p => _stages.Any(s => s.Modules.Owns(p.name)))
            .Select(p => (p.name, (Tensor)p.parameter)).ToList();
        OptimizerParameters = _owned.Select(p => p.Value).ToList();
        TotalParameters = OptimizerParameters.Sum(p => p.numel());
        GlobalShapes = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.shape);
        // The other stages' parameters are neither trained nor kept here: they point at an empty tensor (as FSDP's
        // freed parameters), so a rank holds only its stages' weights, gradients and optimizer state.
        _empty = empty(0, computeDtype, device: device).DetachFromDisposeScope();
        using (no_grad())
            foreach (var (name, p) in model.named_parameters())
                if (!_owned.Any(o => o.Name == name))
                {
                    p.requires_grad = false;
                    p.set_(_empty);
                }
        _runner = new PipelineRunner(plan, _stages, pp, model.Args.Dim, computeDtype);
    }

    public double ForwardBackward(Tensor inputs, Tensor labels, int accumulationSteps) =>
        _runner.Step(inputs, labels, accumulationSteps);

    // The last stage computed the loss: every rank reports its value.
    public double ReportedLoss(double localLoss)
    {
        using var t = tensor(new[] { localLoss }, ScalarType.Float64, device: _pp.Device);
        _pp.Broadcast(t, _plan.RankOf(_plan.Stages.Count - 1));
        return t.item<double>();
    }

    public double GradientSumOfSquares()
    {
        using var t = tensor(new[] { GradientClipping.LocalSumOfSquares(OptimizerParameters) }, ScalarType.Float64, device: _pp.Device);
        _pp.AllReduce(t);
        return t.item<double>();
    }

    public void ParametersUpdated() { }

    public Tensor EvaluationLogits(Tensor tokens) => _runner.EvaluationLogits(tokens, Model.Args.VocabSize);

    /// <summary>Each parameter broadcast from the pp rank whose stage owns it, in the model's order.</summary>
    public IReadOnlyList<(string Name, Tensor Value)> FullParameters()
    {
        using var _ = no_grad();
        var result = new List<(string, Tensor)>();
        foreach (var (name, p) in Model.named_parameters())
        {
            int owner = _plan.RankOf(_plan.Stages.First(s => s.Owns(name)).Index);
            var value = owner == _pp.Rank ? p.detach().clone() : empty(GlobalShapes[name], p.dtype, device: p.device);
            _pp.Broadcast(value, owner);
            result.Add((name, value));
        }
        return result;
    }

    public List<StatePiece> StatePieces(string prefix, IReadOnlyList<Tensor> likeOptimizerParameters, bool forSave)
    {
        var pieces = new List<StatePiece>();
        foreach (var ((name, _), t) in _owned.Zip(likeOptimizerParameters))
        {
            var flat = t.detach().view(-1);
            pieces.Add(new StatePiece(prefix + name, t.shape, flat, 0, 0, flat.numel()));
        }
        return pieces;
    }

    public IEnumerable<string> Describe()
    {
        yield return _plan.ToString();
        foreach (var s in _stages)
            yield return $"pp rank {_pp.Rank}: {s.Modules}; schedule {string.Join(" ", _runner.Actions)}";
    }

    public IEnumerable<string> Summarize(int steps, TimeSpan elapsed) => [];

    public void Dispose()
    {
        _checkpointing?.Dispose();
        Model.Dispose();
        _empty.Dispose();
    }
}
