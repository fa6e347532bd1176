using static TorchSharp.torch;

namespace SharpTitan.Parallel;

/// <summary>
/// Attention of a block of queries on a block of keys with its log-sum-exp, and the exact merge of two such partial
/// results (online softmax): what context parallel assembles a causal attention from. Plain tensor ops in fp32, so
/// autograd differentiates them. Shapes: [batch, heads, seq, head_dim]; the log-sum-exp is [batch, heads, seq, 1].
/// </summary>
internal static class BlockAttention
{
    /// <summary>softmax(q k^T / sqrt(d)) v and the log-sum-exp of each query's scores; <paramref name="causal"/>: the block is on the diagonal.</summary>
    public static (Tensor Out, Tensor Lse) Attend(Tensor q, Tensor k, Tensor v, bool causal)
    {
        using var scope = NewDisposeScope();
        var scores = matmul(q, k.transpose(-2, -1)) * (1.0 / Math.Sqrt(q.shape[^1]));
        if (causal)
        {
            using var mask = ones(q.shape[^2], k.shape[^2], ScalarType.Bool, device: q.device).triu(1);
            scores = scores.masked_fill(mask, double.NegativeInfinity);
        }
        var lse = scores.logsumexp(-1, keepdim: true);
        var output = matmul((scores - lse).exp(), v);
        return (output.MoveToOuterDisposeScope(), lse.MoveToOuterDisposeScope());
    }

    /// <summary>The attention over the union of both key blocks, from the two partial results.</summary>
    public static (Tensor Out, Tensor Lse) Merge((Tensor Out, Tensor Lse) a, (Tensor Out, Tensor Lse) b)
    {
        using var scope = NewDisposeScope();
        var lse = logaddexp(a.Lse, b.Lse);
        var output = a.Out * (a.Lse - lse).exp() + b.Out * (b.Lse - lse).exp();
        return (output.MoveToOuterDisposeScope(), lse.MoveToOuterDisposeScope());
    }
}
