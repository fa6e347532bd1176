using static TorchSharp.torch;

namespace SharpTitan.Parallel;

/// <summary>
/// This rank's two query chunks (<see cref="LoadBalancedLayout"/>) against one rank's keys and values at a time:
/// each (query chunk, key chunk) pair below the diagonal attended in full, the diagonal pair causally, pairs above it
/// not at all. The rotate methods only differ in how a source rank's keys and values arrive; both run the blocks here.
/// q [batch, heads, 2 x chunk, head_dim] on this rank; a source's keys and values as one tensor
/// kv [2, batch, kv_heads, 2 x chunk, head_dim] (its low chunk, then its high chunk).
/// </summary>
internal sealed class CausalBlocks
{
    private readonly LoadBalancedLayout _layout;
    private readonly long _chunk;
    private readonly (int Chunk, long Offset)[] _queries;

    public CausalBlocks(LoadBalancedLayout layout, long localSeqLen)
    {
        _layout = layout;
        _chunk = localSeqLen / 2;
        var (low, high) = layout.ChunksOf(layout.Rank);
        _queries = [(low, 0), (high, _chunk)];
    }

    /// <summary>The (query, key) block pairs with <paramref name="source"/>'s keys that the causal mask leaves work in.</summary>
    private IEnumerable<(int Query, long QueryOffset, long KeyOffset, bool Diagonal)> Pairs(int source)
    {
        var (low, high) = _layout.ChunksOf(source);
        for (int i = 0; i < _queries.Length; i++)
            foreach (var key in new[] { (Chunk: low, Offset: 0L), (Chunk: high, Offset: _chunk) })
                if (key.Chunk <= _queries[i].Chunk)
                    yield return (i, _queries[i].Offset, key.Offset, key.Chunk == _queries[i].Chunk);
    }

    /// <summary>Folds the attention of this rank's queries on <paramref name="source"/>'s keys into <paramref name="running"/> (one per query chunk).</summary>
    public void Attend((Tensor Out, Tensor Lse)?[] running, Tensor q, Tensor kv, int source)
    {
        foreach (var p in Pairs(source))
        {
            using var scope = NewDisposeScope();
            var part = BlockAttention.Attend(q.narrow(2, p.QueryOffset, _chunk), kv[0].narrow(2, p.KeyOffset, _chunk),
                kv[1].narrow(2, p.KeyOffset, _chunk), p.Diagonal);
            var merged = BlockAttention.Merge(running[p.Query], part);
            running[p.Query]?.Out.Dispose();
            running[p.Query]?.Lse.Dispose();
            running[p.Query] = (merged.Out.MoveToOuterDisposeScope(), merged.Lse.MoveToOuterDisposeScope());
        }
    }

    /// <summary>
    /// The whole attention (output [.., 2 x chunk, ..] in q's dtype, log-sum-exp [batch, heads, 2 x chunk] fp32) once
    /// every source has been attended.
    /// </summary>
    public static (Tensor Out, Tensor Lse) Finish((Tensor Out, Tensor Lse)?[] running, ScalarType dtype)
    {
        var output = cat(running.Select(r => r!.Value.Out).ToArray(), 2).to(dtype);
        var lse = cat(running.Select(r => r!.Value.Lse).ToArray(), 2);
        foreach (var r in running)
        {
            r!.Value.Out.Dispose();
            r.Value.Lse.Dispose();
        }
        return (output, lse);
    }

    /// <summary>
    /// Adds the blocks' shares of the gradients with <paramref name="source"/>'s keys: of q into <paramref name="dq"/>
    /// (fp32, like q), of that source's keys and values into <paramref name="dkv"/> (fp32, like kv). output and lse
    /// are this rank's whole attention's (the forward's result).
    /// </summary>
    public void Gradients(Tensor dq, Tensor dkv, Tensor gradOut, Tensor q, Tensor output, Tensor lse, Tensor kv, int source)
    {
        foreach (var p in Pairs(source))
        {
            using var scope = NewDisposeScope();
            var (dqBlock, dkBlock, dvBlock) = BlockAttention.Gradients(gradOut.narrow(2, p.QueryOffset, _chunk),
                q.narrow(2, p.QueryOffset, _chunk), kv[0].narrow(2, p.KeyOffset, _chunk), kv[1].narrow(2, p.KeyOffset, _chunk),
                output.narrow(2, p.QueryOffset, _chunk), lse.narrow(2, p.QueryOffset, _chunk), p.Diagonal);
            dq.narrow(2, p.QueryOffset, _chunk).add_(dqBlock);
            dkv[0].narrow(2, p.KeyOffset, _chunk).add_(dkBlock);
            dkv[1].narrow(2, p.KeyOffset, _chunk).add_(dvBlock);
        }
    }
}
