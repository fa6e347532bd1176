using SharpTitan.Config;
using SharpTitan.Distributed;
using SharpTitan.Native;
using static TorchSharp.torch;

namespace SharpTitan.Parallel;

/// <summary>
/// Causal attention of this rank's load-balanced queries over the whole sequence's keys and values, installed in
/// place of each attention's sdpa module. One autograd function: forward attends block by block
/// (<see cref="CausalBlocks"/>, fused kernels) and merges exactly through the log-sum-exp, keeping only q, k, v, the
/// output and the log-sum-exp; backward runs each block's fused backward from the whole attention's output and
/// log-sum-exp (ring attention's identity) and sums the blocks' shares. Keys and values travel with the model's
/// kv_heads (grouped-query attention repeats them only inside each block).
/// allgather: the group's keys and values are all-gathered (again in backward, then their gradients reduce-scattered);
/// alltoall: they travel around the ring one rank's part per step, the next part's transfer overlapping this part's
/// attention; in backward the key/value gradients travel with them, each step's transfer overlapping the next
/// step's blocks. Runs in q's dtype (the merge in fp32). Shapes: q [batch, heads, local seq, head_dim], k and v
/// [batch, kv_heads, local seq, head_dim].
/// </summary>
internal sealed class ContextParallelAttention(IProcessGroup group, LoadBalancedLayout layout, ContextParallelRotateMethod method)
    : nn.Module<Tensor, Tensor, Tensor, Tensor>(nameof(ContextParallelAttention))
{
    private readonly ContextParallelAttentionCall _call = new(group, layout, method);

    public override Tensor forward(Tensor q, Tensor k, Tensor v) => ContextParallelAttentionFunction.Apply(q, k, v, _call);
}

internal sealed record ContextParallelAttentionCall(IProcessGroup Group, LoadBalancedLayout Layout, ContextParallelRotateMethod Method);

/// <summary>The autograd function of <see cref="ContextParallelAttention"/>; vars: q, k, v, <see cref="ContextParallelAttentionCall"/>.</summary>
internal sealed class ContextParallelAttentionFunction : LeanFunction<ContextParallelAttentionFunction>
{
    public override string Name => "ContextParallelAttention";

    protected override Tensor Forward(autograd.AutogradContext ctx, object[] vars)
    {
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        var (q, k, v, call) = ((Tensor)vars[0], (Tensor)vars[1], (Tensor)vars[2], (ContextParallelAttentionCall)vars[3]);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var blocks = new CausalBlocks(call.Layout, q.shape[2]);
        var (output, lse) = call.Method == ContextParallelRotateMethod.AllGather
            ? KeyValueRotation.AllGatherForward(blocks, q, k, v, call.Group)
            : KeyValueRotation.RingForward(blocks, q, k, v, call.Group);
        ctx.save_data("call", call);
        // The context saves its tensors after forward returns: the ones made here must outlive this scope.
        var savedOutput = output.detach();
        ctx.save_for_backward([q, k, v, savedOutput, lse]);
        savedOutput.MoveToOuterDisposeScope();
        lse.MoveToOuterDisposeScope();
        var result = output.MoveToOuterDisposeScope();
        ContextParallelTimes.AddAttention(start);
        return result;
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        using var scope = new BackwardScope(gradOutput);
        using var _ = no_grad();
        var call = (ContextParallelAttentionCall)ctx.get_data("call");
        var saved = ctx.get_saved_variables();
        var (q, k, v, output, lse) = (saved[0], saved[1], saved[2], saved[3], saved[4]);
        var blocks = new CausalBlocks(call.Layout, q.shape[2]);
        var (dq, dk, dv) = call.Method == ContextParallelRotateMethod.AllGather
            ? KeyValueRotation.AllGatherBackward(blocks, gradOutput, q, k, v, output, lse, call.Group)
            : KeyValueRotation.RingBackward(blocks, gradOutput, q, k, v, output, lse, call.Group);
        var grads = scope.HandOut(dq, dk, dv, null);
        ContextParallelTimes.AddAttention(start);
        return grads;
    }
}
