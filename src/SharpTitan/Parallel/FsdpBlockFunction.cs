using static TorchSharp.torch;

namespace SharpTitan.Parallel;

/// <summary>
/// What one block's forward left for its backward: for a resharding block, its input (saved by the function)
/// and the rotary tables to recompute it; for a non-resharding one, the detached input and the output that
/// still carries the block's own autograd graph.
/// </summary>
internal sealed class BlockCall(IBlockOwner owner, int layer, bool recompute, Tensor cos, Tensor sin)
{
    public IBlockOwner Owner { get; } = owner;
    public int Layer { get; } = layer;
    public bool Recompute { get; } = recompute;
    public Tensor Cos { get; } = cos;
    public Tensor Sin { get; } = sin;
    /// <summary>The block's input as the caller passed it (a resharding block's function input).</summary>
    public Tensor? Input { get; set; }
    /// <summary>Non-resharding: the detached input that requires grad, the root of the block's graph.</summary>
    public Tensor? GraphInput { get; set; }
    public Tensor? Output { get; set; }
    /// <summary>Restores grad mode after a resharding block ran its forward under no_grad.</summary>
    public IDisposable? GradMode { get; set; }
    /// <summary>A recomputing block's generator and autocast state at its first forward.</summary>
    public RecomputeState? State { get; set; }
    /// <summary>What a selective-op checkpointed block kept from its first forward.</summary>
    public IDisposable? Saved { get; set; }

    public void Release()
    {
        State?.Dispose();
        Saved?.Dispose();
        State = null;
        Saved = null;
        GraphInput?.Dispose();
        Output?.Dispose();
        GraphInput = Output = null;
    }
}

/// <summary>Runs a block's backward for <see cref="FsdpBlockFunction"/> (FSDP, or activation checkpointing alone).</summary>
internal interface IBlockOwner
{
    /// <summary>The gradient of the block's input; <paramref name="savedInput"/> is set when the block recomputes.</summary>
    Tensor BlockBackward(BlockCall call, Tensor? savedInput, Tensor gradOutput);
}

/// <summary>
/// One FSDP block as one autograd node: forward hands back the output the block already computed (see
/// <see cref="FsdpModel"/>'s hooks); backward asks the owner to gather the parameters again where needed,
/// recompute, backprop through the block, start the reduce-scatter of its gradients and free the parameters.
/// This is how parameters can be freed between forward and backward without autograd holding them.
/// </summary>
internal sealed class FsdpBlockFunction : autograd.SingleTensorFunction<FsdpBlockFunction>
{
    public override string Name => "FsdpBlock";

    // vars: [block input, BlockCall]
    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var call = (BlockCall)vars[1];
        ctx.save_data("call", call);
        if (call.Recompute)
        {
            ctx.save_for_backward([(Tensor)vars[0]]);
            return call.Output!; // computed under no_grad: this node becomes its grad_fn
        }
        return call.Output!.detach(); // keeps the block's inner graph on call.Output
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        var call = (BlockCall)ctx.get_data("call");
        Tensor? input = call.Recompute ? ctx.get_saved_variables()[0] : null;
        var gradInput = call.Owner.BlockBackward(call, input, gradOutput);
        return [gradInput, null!];
    }
}
