using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SharpTitan.Parallel;

/// <summary>
/// One micro-batch's autograd graph on one stage, kept in segments (the embedding, each block, the head) cut at
/// their boundaries: each segment's input is a detached leaf that requires grad. That cut is what lets the backward
/// split into I and W without running it twice (PyTorch's stage_backward_input / stage_backward_weight idea):
/// <list type="bullet">
/// <item>I walks the segments from the last, autograd.grad of each output w.r.t. its input only (retain_graph), so
/// libtorch skips every weight-gradient matmul; each segment keeps the gradient of its output for W.</item>
/// <item>The one-dimensional parameters (the norms' weights) take their gradients in I as well: their gradient needs
/// the whole activation-gradient chain of the block, which I runs anyway, and costs nothing more there.</item>
/// <item>W runs each segment's backward from that kept gradient into its matrices only (inputs = those parameters),
/// freeing the graph. It recomputes just the activation gradients inside one block that those need (through wo
/// and the attention for wq / wk / wv, through w2 for w1 / w3), never the chain across blocks nor the norms.</item>
/// <item>B (a whole backward) walks the segments once, accumulating parameters and the segment inputs' .grad.</item>
/// </list>
/// A block under activation checkpointing is one recomputing autograd node that adds its parameters' gradients
/// itself when it runs: I does its whole backward and W skips it. The graph owns its intermediate tensors
/// (disposed by the last backward or <see cref="Dispose"/>); the stage input belongs to the caller.
/// </summary>
internal sealed class StageGraph : IDisposable
{
    private sealed class Segment(Tensor? input, Tensor output, IReadOnlyList<Parameter> parameters, bool weightsInInput)
    {
        public Tensor? Input = input;        // leaf requiring grad (null for the embedding: its input is tokens)
        public Tensor Output = output;
        public readonly IReadOnlyList<Parameter> Parameters = parameters;
        public readonly bool WeightsInInput = weightsInInput;
        public Tensor? OutputGrad;            // kept by I for W
    }

    private readonly List<Segment> _segments = [];
    private readonly Tensor? _stageInput;
    private readonly DeferredWeightGradients? _deferred;
    private readonly List<(Parameter Weight, Tensor X, Tensor Dy)> _pending = [];

    /// <param name="deferred">The stage's linears whose weight gradients I keeps for W as (x, dy) pairs, if any.</param>
    public StageGraph(Tensor? stageInput, DeferredWeightGradients? deferred = null) => (_stageInput, _deferred) = (stageInput, deferred);

    /// <summary>The last segment's output: hidden states, logits, or (after <see cref="SetOutput"/>) the loss.</summary>
    public Tensor Output => _segments[^1].Output;

    /// <summary>The next segment's input: the stage input first, then a detached leaf of the previous output.</summary>
    public Tensor? NextInput() => _segments.Count == 0 ? _stageInput : _segments[^1].Output.detach().requires_grad_(true).DetachFromDisposeScope();

    /// <param name="weightsInInput">The segment's node adds its parameter gradients itself (activation checkpointing).</param>
    public void Add(Tensor? input, Tensor output, IReadOnlyList<Parameter> parameters, bool weightsInInput) =>
        _segments.Add(new Segment(input, output.DetachFromDisposeScope(), parameters, weightsInInput));

    /// <summary>Replaces the last output (logits) by the loss computed from it.</summary>
    public void SetOutput(Tensor loss)
    {
        var last = _segments[^1];
        last.Output.Dispose();
        last.Output = loss.DetachFromDisposeScope();
    }

    /// <summary>The whole backward (B). Returns the stage input's gradient (null on the first stage).</summary>
    public Tensor? Backward(Tensor? gradOutput)
    {
        Tensor? g = gradOutput ?? ones_like(Output);
        for (int i = _segments.Count - 1; i >= 0; i--)
        {
            var s = _segments[i];
            autograd.backward([s.Output], [g!]);
            if (!ReferenceEquals(g, gradOutput)) g!.Dispose();
            g = s.Input?.grad;
            DisposeSegment(s);
        }
        _segments.Clear();
        return g;
    }

    /// <summary>I: the input gradients only, segment by segment; returns the stage input's gradient (null on the first stage).</summary>
    public Tensor? BackwardInput(Tensor? gradOutput)
    {
        Tensor g = gradOutput?.alias() ?? ones_like(Output);
        using var deferring = _deferred?.Defer(_pending);
        for (int i = _segments.Count - 1; i >= 0; i--)
        {
            var s = _segments[i];
            s.OutputGrad = g.DetachFromDisposeScope();
            if (s.Input is null) return null; // the embedding: nothing below it
            var vectors = s.WeightsInInput ? [] : s.Parameters.Where(InInput).ToList();
            // The graph stays for W only where W runs autograd (weights no deferred linear covers).
            var grads = autograd.grad([s.Output], [s.Input, .. vectors], [s.OutputGrad], retain_graph: AutogradWeights(s).Count > 0);
            g = grads[0];
            using (no_grad())
                for (int k = 0; k < vectors.Count; k++)
                {
                    if (vectors[k].grad is { } existing) existing.add_(grads[k + 1]);
                    else vectors[k].grad = grads[k + 1].DetachFromDisposeScope();
                }
        }
        return g;
    }

    /// <summary>Parameters whose gradient I computes: trained one-dimensional ones (norm weights).</summary>
    private static bool InInput(Parameter p) => p.requires_grad && p.dim() == 1;

    /// <summary>
    /// W: the deferred linears' weight gradients from the pairs I kept, then each segment's other parameter
    /// gradients from the output gradient I kept; frees the graph.
    /// </summary>
    public void BackwardWeight()
    {
        DeferredWeightGradients.Accumulate(_pending);
        for (int i = _segments.Count - 1; i >= 0; i--)
        {
            var s = _segments[i];
            if (s.OutputGrad is null) throw new InvalidOperationException("pipeline: W before I on a stage");
            var parameters = AutogradWeights(s);
            if (parameters.Count > 0)
                autograd.backward([s.Output], [s.OutputGrad], retain_graph: false, inputs: parameters);
            DisposeSegment(s);
        }
        _segments.Clear();
    }

    /// <summary>The parameters W takes through autograd: neither I's (norm weights, checkpointed blocks) nor a deferred linear's.</summary>
    private List<Tensor> AutogradWeights(Segment s) => s.WeightsInInput ? [] :
        s.Parameters.Where(p => p.requires_grad && (s.Input is null || !InInput(p)) && !(_deferred?.Handles(p) ?? false)).Cast<Tensor>().ToList();

    private void DisposeSegment(Segment s)
    {
        s.OutputGrad?.Dispose();
        s.OutputGrad = null;
        s.Output.Dispose();
        if (s.Input is { } input && !ReferenceEquals(input, _stageInput)) input.Dispose();
    }

    public void Dispose()
    {
        foreach (var s in _segments) DisposeSegment(s);
        _segments.Clear();
        DeferredWeightGradients.Discard(_pending);
    }
}
