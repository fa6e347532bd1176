using SharpTitan.Config;
using SharpTitan.Distributed;
using static TorchSharp.torch;

namespace SharpTitan.Parallel;

/// <summary>
/// Causal attention of this rank's load-balanced queries over the whole sequence's keys and values, installed in
/// place of each attention's sdpa module. Each (query chunk, key chunk) pair below the diagonal is attended in full,
/// the diagonal pair causally, pairs above it not at all; the partial results merge exactly through their log-sum-exp.
/// allgather: keys and values of the group are all-gathered (backward reduce-scatters their gradients); alltoall:
/// they travel around the ring one rank's block per step, the next block's transfer overlapping this block's
/// attention (backward sends the gradients back the other way, without overlap).
/// Runs in fp32 and returns the query's dtype. Shapes [batch, heads, local seq, head_dim].
/// </summary>
internal sealed class ContextParallelAttention(IProcessGroup group, LoadBalancedLayout layout, ContextParallelRotateMethod method)
    : nn.Module<Tensor, Tensor, Tensor, Tensor>(nameof(ContextParallelAttention))
{
    public override Tensor forward(Tensor q, Tensor k, Tensor v)
    {
        using var scope = NewDisposeScope();
        var dtype = q.dtype;
        (q, k, v) = (q.to(ScalarType.Float32), k.to(ScalarType.Float32), v.to(ScalarType.Float32));
        long chunk = q.shape[2] / 2;
        var (low, high) = layout.ChunksOf(layout.Rank);
        var queries = new[] { (Chunk: low, Q: q.narrow(2, 0, chunk)), (Chunk: high, Q: q.narrow(2, chunk, chunk)) };
        var outputs = method == ContextParallelRotateMethod.AllGather
            ? AllGathered(queries, k, v, chunk)
            : Ring(queries, k, v, chunk);
        return cat(outputs, 2).to(dtype).MoveToOuterDisposeScope();
    }

    private Tensor[] AllGathered((int Chunk, Tensor Q)[] queries, Tensor k, Tensor v, long chunk)
    {
        // Every rank's keys in rank order, then in global order: chunk j is positions [j x chunk, (j + 1) x chunk).
        var fullK = layout.Unshard(TpCollective.Apply(k, TpOp.AllGather, group, dim: 2), 2);
        var fullV = layout.Unshard(TpCollective.Apply(v, TpOp.AllGather, group, dim: 2), 2);
        return queries.Select(x =>
        {
            var result = BlockAttention.Attend(x.Q, fullK.narrow(2, x.Chunk * chunk, chunk), fullV.narrow(2, x.Chunk * chunk, chunk), causal: true);
            if (x.Chunk > 0)
                result = BlockAttention.Merge(result, BlockAttention.Attend(x.Q, fullK.narrow(2, 0, x.Chunk * chunk), fullV.narrow(2, 0, x.Chunk * chunk), causal: false));
            return result.Out;
        }).ToArray();
    }

    private Tensor[] Ring((int Chunk, Tensor Q)[] queries, Tensor k, Tensor v, long chunk)
    {
        // Keys and values travel as one tensor; the next step's transfer is in flight while this step attends.
        var kv = stack([k, v]);
        var results = new (Tensor Out, Tensor Lse)?[queries.Length];
        for (int step = 0; step < group.Size; step++)
        {
            var next = step + 1 < group.Size ? RingShift.Start(kv, group) : null;
            int source = ((layout.Rank - step) % group.Size + group.Size) % group.Size;
            var (sourceLow, sourceHigh) = layout.ChunksOf(source);
            var keys = new[] { (Chunk: sourceLow, Offset: 0L), (Chunk: sourceHigh, Offset: chunk) };
            for (int i = 0; i < queries.Length; i++)
                foreach (var key in keys.Where(key => key.Chunk <= queries[i].Chunk))
                {
                    var part = BlockAttention.Attend(queries[i].Q, kv[0].narrow(2, key.Offset, chunk), kv[1].narrow(2, key.Offset, chunk),
                        causal: key.Chunk == queries[i].Chunk);
                    results[i] = results[i] is { } sofar ? BlockAttention.Merge(sofar, part) : part;
                }
            if (next != null) kv = RingShift.Apply(kv, group, next);
        }
        return results.Select(r => r!.Value.Out).ToArray();
    }
}
