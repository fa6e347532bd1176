using SharpTitan.Models.Llama3;
using SharpTitan.Native;
using static TorchSharp.torch;

namespace SharpTitan.Parallel;

/// <summary>
/// Attention of a block of queries on a block of keys with its log-sum-exp, its gradients given the whole
/// attention's output and log-sum-exp, and the exact merge of partial results (online softmax): what context
/// parallel assembles a causal attention from. No autograd here (the caller's function owns the graph), no score
/// matrix kept: on CPU both directions are libtorch's flash kernels (<see cref="FlashAttentionKernel"/>); on other
/// devices the same formulas in plain ops, in fp32, whose scores live only inside one call.
/// Shapes: q [batch, heads, seq_q, head_dim]; k and v [batch, kv_heads, seq_k, head_dim] with heads a multiple of
/// kv_heads (query head h reads key/value head h / (heads / kv_heads), as the model's grouped-query attention);
/// the log-sum-exp [batch, heads, seq_q] in fp32. <c>causal</c>: the block is on the diagonal (key j &gt; query i masked).
/// </summary>
internal static class BlockAttention
{
    /// <summary>softmax(q kᵀ / sqrt(d)) v in q's dtype and the fp32 log-sum-exp of each query's scaled scores.</summary>
    public static (Tensor Out, Tensor Lse) Attend(Tensor q, Tensor k, Tensor v, bool causal)
    {
        using var scope = NewDisposeScope();
        int groups = Groups(q, k);
        if (q.shape[2] == 0) // a selective-AC recompute's one-token stand-in, split in two chunks: nothing to attend
            return (empty_like(q), empty(q.shape[0], q.shape[1], 0, ScalarType.Float32, device: q.device));
        var (kr, vr) = (ScaledDotProductAttention.RepeatKv(k, groups), ScaledDotProductAttention.RepeatKv(v, groups));
        var (output, lse) = FlashAttentionKernel.Supports(q)
            ? FlashAttentionKernel.Attend(q, kr, vr, causal)
            : MathAttend(q, kr, vr, causal);
        return (output.MoveToOuterDisposeScope(), lse.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// This block's share of the gradients of q, k and v, given the gradient of the whole attention's output and that
    /// output and log-sum-exp (the ring-attention identity: the block's softmax is exp(scores - lse), and the
    /// softmax gradient's row term is rowsum(gradOut x out) of the whole). Summed over a query's blocks they are
    /// the whole attention's gradients. dk and dv have k's heads (summed over each group of query heads).
    /// </summary>
    public static (Tensor Dq, Tensor Dk, Tensor Dv) Gradients(Tensor gradOut, Tensor q, Tensor k, Tensor v, Tensor output, Tensor lse, bool causal)
    {
        using var scope = NewDisposeScope();
        int groups = Groups(q, k);
        if (q.shape[2] == 0) return (zeros_like(q), zeros_like(k), zeros_like(v));
        var (kr, vr) = (ScaledDotProductAttention.RepeatKv(k, groups), ScaledDotProductAttention.RepeatKv(v, groups));
        var (dq, dk, dv) = FlashAttentionKernel.Supports(q)
            ? FlashAttentionKernel.Gradients(gradOut, q, kr, vr, output, lse, causal)
            : MathGradients(gradOut, q, kr, vr, output, lse, causal);
        return (dq.MoveToOuterDisposeScope(), Unrepeat(dk, groups).MoveToOuterDisposeScope(), Unrepeat(dv, groups).MoveToOuterDisposeScope());
    }

    /// <summary>
    /// Folds a partial result into a running one (both attend the same queries over disjoint keys): the attention over
    /// the union of their keys. The running one is fp32 (made on the first call); returns the new running result.
    /// </summary>
    public static (Tensor Out, Tensor Lse) Merge((Tensor Out, Tensor Lse)? running, (Tensor Out, Tensor Lse) part)
    {
        using var scope = NewDisposeScope();
        if (running is not { } sofar)
            return (part.Out.to(ScalarType.Float32).MoveToOuterDisposeScope(), part.Lse.to(ScalarType.Float32).MoveToOuterDisposeScope());
        var lse = logaddexp(sofar.Lse, part.Lse);
        var output = sofar.Out * (sofar.Lse - lse).exp().unsqueeze(-1) + part.Out * (part.Lse - lse).exp().unsqueeze(-1);
        return (output.MoveToOuterDisposeScope(), lse.MoveToOuterDisposeScope());
    }

    private static int Groups(Tensor q, Tensor k)
    {
        long heads = q.shape[1], kvHeads = k.shape[1];
        if (kvHeads == 0 || heads % kvHeads != 0)
            throw new ArgumentException($"attention: {heads} query heads are not a multiple of {kvHeads} key/value heads");
        return (int)(heads / kvHeads);
    }

    private static Tensor Unrepeat(Tensor grad, int groups)
    {
        if (groups == 1) return grad;
        long b = grad.shape[0], h = grad.shape[1] / groups, s = grad.shape[2], d = grad.shape[3];
        return grad.reshape(b, h, groups, s, d).sum(2);
    }

    private static Tensor Scores(Tensor q, Tensor k, bool causal)
    {
        var scores = matmul(q.to(ScalarType.Float32), k.to(ScalarType.Float32).transpose(-2, -1)) * (1.0 / Math.Sqrt(q.shape[^1]));
        if (!causal) return scores;
        using var mask = ones(q.shape[^2], k.shape[^2], ScalarType.Bool, device: q.device).triu(1);
        return scores.masked_fill(mask, double.NegativeInfinity);
    }

    /// <summary>The non-CPU path: <see cref="Attend"/> in plain fp32 ops (internal for the test that holds it to the kernel).</summary>
    internal static (Tensor Out, Tensor Lse) MathAttend(Tensor q, Tensor k, Tensor v, bool causal)
    {
        var scores = Scores(q, k, causal);
        var lse = scores.logsumexp(-1, keepdim: true);
        var output = matmul((scores - lse).exp(), v.to(ScalarType.Float32));
        return (output.to(q.dtype), lse.squeeze(-1));
    }

    /// <summary>The non-CPU path: <see cref="Gradients"/> in plain fp32 ops, on repeated heads.</summary>
    internal static (Tensor Dq, Tensor Dk, Tensor Dv) MathGradients(Tensor gradOut, Tensor q, Tensor k, Tensor v, Tensor output, Tensor lse, bool causal)
    {
        double scale = 1.0 / Math.Sqrt(q.shape[^1]);
        var g = gradOut.to(ScalarType.Float32);
        var p = (Scores(q, k, causal) - lse.to(ScalarType.Float32).unsqueeze(-1)).exp();
        var dv = matmul(p.transpose(-2, -1), g);
        var rowTerm = (g * output.to(ScalarType.Float32)).sum(-1, keepdim: true);
        var ds = p * (matmul(g, v.to(ScalarType.Float32).transpose(-2, -1)) - rowTerm);
        var dq = matmul(ds, k.to(ScalarType.Float32)) * scale;
        var dk = matmul(ds.transpose(-2, -1), q.to(ScalarType.Float32)) * scale;
        return (dq.to(q.dtype), dk.to(k.dtype), dv.to(v.dtype));
    }
}
