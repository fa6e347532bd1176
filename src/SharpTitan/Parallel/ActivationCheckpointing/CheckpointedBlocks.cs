using SharpTitan.Models.Llama3;
using static TorchSharp.torch;

namespace SharpTitan.Parallel;

/// <summary>
/// Full / selective-layer activation checkpointing of a plain (unsharded) model: each chosen block runs its
/// forward under no_grad (its own dispose scope frees the intermediates at once) and becomes one
/// <see cref="BlockFunction"/> node that saved only the block's input; its backward re-runs the block with
/// grad in an inner dispose scope, backprops through it and adds the parameter gradients to .grad. Under FSDP the
/// same node and the same recompute are FSDP's own (<see cref="FsdpOptions.Checkpoint"/>): nothing is installed here.
/// The hooks, the node and the recompute are the shared <see cref="BlockNodes"/> core.
/// </summary>
internal sealed class CheckpointedBlocks : BlockNodes
{
    private readonly BlockCall?[] _calls;
    private readonly SelectiveOpRecorder? _ops;

    /// <param name="selectiveOp">Every block keeps its matmul and attention outputs (<see cref="SelectiveOpRecorder"/>).</param>
    public CheckpointedBlocks(Transformer model, bool[] layers, bool selectiveOp = false)
        : base(model, Enumerable.Range(0, layers.Length).Where(i => layers[i]))
    {
        if (selectiveOp) _ops = new SelectiveOpRecorder(model);
        _calls = new BlockCall?[layers.Length];
    }

    protected override (Tensor, Tensor, Tensor)? PreForward(int layer, Tensor x, Tensor cos, Tensor sin)
    {
        if (layer == 0) ReleaseGradInput(); // the previous step's last gradient has long been consumed
        if (!is_grad_enabled()) return null;
        var call = new BlockCall(this, layer, recompute: true, cos, sin) { Input = x };
        BeginRecomputingForward(call);
        call.Saved = _ops?.BeginForward();
        _calls[layer] = call;
        return null;
    }

    protected override Tensor PostForward(int layer, Tensor output)
    {
        var call = _calls[layer];
        if (call == null) return output;
        _calls[layer] = null;
        _ops?.End();
        return EndForward(call, output);
    }

    public override Tensor BlockBackward(BlockCall call, Tensor? savedInput, Tensor gradOutput)
    {
        ReleaseGradInput(); // the engine has consumed the previous block's gradient by now
        var block = Model.layers[call.Layer];
        using var scope = NewDisposeScope();
        var (graphInput, output) = Recompute(call, savedInput!, x =>
        {
            if (_ops != null) _ops.BeginRecompute(call.Saved!);
            try { return block.forward(x, call.Cos, call.Sin); }
            finally { _ops?.End(); }
        });
        var parameters = block.parameters().ToList();
        var grads = Gradients(output, graphInput, parameters, gradOutput);
        using (no_grad())
            for (int i = 0; i < parameters.Count; i++)
            {
                var g = grads[i + 1];
                if (g is null || g.IsInvalid) continue;
                if (parameters[i].grad is { } existing) existing.add_(g);
                else parameters[i].grad = g;
            }
        call.Release();
        return KeepGradInput(grads[0]);
    }

    public override void Dispose()
    {
        base.Dispose();
        _ops?.Dispose();
        foreach (var c in _calls) c?.Release();
    }
}
