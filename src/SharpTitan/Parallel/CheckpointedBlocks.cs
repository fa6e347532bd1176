using SharpTitan.Models.Llama3;
using static TorchSharp.torch;

namespace SharpTitan.Parallel;

/// <summary>
/// Full / selective-layer activation checkpointing of a plain (unsharded) model: each chosen block runs its
/// forward under no_grad (its own dispose scope frees the intermediates at once) and becomes one
/// <see cref="FsdpBlockFunction"/> node that saved only the block's input; its backward re-runs the block with
/// grad in an inner dispose scope, backprops through it and adds the parameter gradients to .grad. Under FSDP the
/// same node and the same recompute are FSDP's own (<see cref="FsdpOptions.Checkpoint"/>): nothing is installed here.
/// </summary>
public sealed class CheckpointedBlocks : IBlockOwner, IDisposable
{
    private readonly Transformer _model;
    private readonly List<Action> _removeHooks = [];
    private readonly BlockCall?[] _calls;
    private readonly SelectiveOpRecorder? _ops;
    private Tensor? _lastGradInput;

    /// <param name="selectiveOp">Every block keeps its matmul and attention outputs (<see cref="SelectiveOpRecorder"/>).</param>
    public CheckpointedBlocks(Transformer model, bool[] layers, bool selectiveOp = false)
    {
        _model = model;
        if (selectiveOp) _ops = new SelectiveOpRecorder(model);
        _calls = new BlockCall?[layers.Length];
        for (int i = 0; i < layers.Length; i++)
        {
            if (!layers[i]) continue;
            int layer = i;
            var pre = model.layers[i].register_forward_pre_hook((_, x, cos, sin) => PreForward(layer, x, cos, sin));
            var post = model.layers[i].register_forward_hook((_, _, _, _, output) => PostForward(layer, output));
            _removeHooks.Add(pre.remove);
            _removeHooks.Add(post.remove);
        }
    }

    private (Tensor, Tensor, Tensor)? PreForward(int layer, Tensor x, Tensor cos, Tensor sin)
    {
        if (layer == 0) ReleaseLastGradInput(); // the previous step's last gradient has long been consumed
        if (!is_grad_enabled()) return null;
        var call = new BlockCall(this, layer, recompute: true, cos, sin) { Input = x, State = new RecomputeState() };
        call.GradMode = set_grad_enabled(false);
        call.Saved = _ops?.BeginForward();
        _calls[layer] = call;
        return null;
    }

    private Tensor PostForward(int layer, Tensor output)
    {
        var call = _calls[layer];
        if (call == null) return output;
        _calls[layer] = null;
        _ops?.End();
        call.GradMode!.Dispose();
        call.GradMode = null;
        call.Output = output;
        var result = FsdpBlockFunction.apply(call.Input!, call);
        call.Input = call.Output = null; // the node saved the input; the output is the caller's
        return result;
    }

    Tensor IBlockOwner.BlockBackward(BlockCall call, Tensor? savedInput, Tensor gradOutput)
    {
        ReleaseLastGradInput(); // the engine has consumed the previous block's gradient by now
        var block = _model.layers[call.Layer];
        using var scope = NewDisposeScope();
        Tensor graphInput, output;
        using (call.State!.Enter())
        using (enable_grad())
        {
            graphInput = savedInput!.detach().requires_grad_(true);
            if (_ops != null) _ops.BeginRecompute(call.Saved!);
            try { output = block.forward(graphInput, call.Cos, call.Sin); }
            finally { _ops?.End(); }
        }
        var parameters = block.parameters().ToList();
        var grads = autograd.grad([output], [graphInput, .. parameters], [gradOutput], retain_graph: false, create_graph: false, allow_unused: true);
        using (no_grad())
            for (int i = 0; i < parameters.Count; i++)
            {
                var g = grads[i + 1];
                if (g is null || g.IsInvalid) continue;
                if (parameters[i].grad is { } existing) existing.add_(g);
                else parameters[i].grad = g;
            }
        call.Release();
        _lastGradInput = grads[0].DetachFromDisposeScope();
        return _lastGradInput;
    }

    private void ReleaseLastGradInput()
    {
        _lastGradInput?.Dispose();
        _lastGradInput = null;
    }

    public void Dispose()
    {
        foreach (var remove in _removeHooks) remove();
        _removeHooks.Clear();
        _ops?.Dispose();
        foreach (var c in _calls) c?.Release();
        ReleaseLastGradInput();
    }
}
