using SharpTitan.Distributed;
using static TorchSharp.torch;

namespace SharpTitan.Parallel;

/// <summary>
/// How every rank's keys and values reach this rank's queries, forward and backward (no autograd: called by
/// <see cref="ContextParallelAttentionFunction"/>). Keys and values travel as one tensor [2, batch, kv_heads, local
/// seq, head_dim]; their gradients accumulate and travel in fp32. Time blocked on transfers is counted in
/// <see cref="ContextParallelTimes"/>.
/// </summary>
internal static class KeyValueRotation
{
    /// <summary>allgather forward: every rank's keys and values at once, then the blocks.</summary>
    public static (Tensor Out, Tensor Lse) AllGatherForward(CausalBlocks blocks, Tensor q, Tensor k, Tensor v, IProcessGroup group)
    {
        using var scope = NewDisposeScope();
        var gathered = Gather(k, v, group);
        var running = new (Tensor Out, Tensor Lse)?[2];
        for (int source = 0; source < group.Size; source++) blocks.Attend(running, q, gathered[source], source);
        var (output, lse) = CausalBlocks.Finish(running, q.dtype);
        return (output.MoveToOuterDisposeScope(), lse.MoveToOuterDisposeScope());
    }

    /// <summary>allgather backward: gathers the keys and values again (not kept from forward), reduce-scatters their gradients.</summary>
    public static (Tensor Dq, Tensor Dk, Tensor Dv) AllGatherBackward(CausalBlocks blocks, Tensor gradOut, Tensor q, Tensor k, Tensor v,
        Tensor output, Tensor lse, IProcessGroup group)
    {
        using var scope = NewDisposeScope();
        var gathered = Gather(k, v, group);
        var dq = zeros(q.shape, ScalarType.Float32, device: q.device);
        var dkvAll = zeros(gathered.shape, ScalarType.Float32, device: q.device);
        for (int source = 0; source < group.Size; source++)
            blocks.Gradients(dq, dkvAll[source], gradOut, q, output, lse, gathered[source], source);
        var dkv = empty(dkvAll.shape.Skip(1).ToArray(), ScalarType.Float32, device: q.device);
        ContextParallelTimes.Waiting(() => group.ReduceScatter(dkv, dkvAll));
        return Results(dq, dkv, q, k, v);
    }

    /// <summary>alltoall forward: one rank's keys and values per step, the next step's in flight meanwhile.</summary>
    public static (Tensor Out, Tensor Lse) RingForward(CausalBlocks blocks, Tensor q, Tensor k, Tensor v, IProcessGroup group)
    {
        using var scope = NewDisposeScope();
        var kv = stack([k, v]);
        var running = new (Tensor Out, Tensor Lse)?[2];
        for (int step = 0; step < group.Size; step++)
        {
            var next = step + 1 < group.Size ? RingShift.Start(kv, group, RingShift.KeyValueTag) : null;
            blocks.Attend(running, q, kv, Source(group, step));
            if (next != null) kv = Replace(kv, next.Wait());
        }
        var (output, lse) = CausalBlocks.Finish(running, q.dtype);
        return (output.MoveToOuterDisposeScope(), lse.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// alltoall backward: the keys and values go around the ring again; each source's gradient accumulator travels
    /// one step behind them, collecting every rank's share (rank r adds its share of source s's at step r - s), and
    /// after the last step arrives back at its owner. Each step's transfers overlap the next step's blocks.
    /// </summary>
    public static (Tensor Dq, Tensor Dk, Tensor Dv) RingBackward(CausalBlocks blocks, Tensor gradOut, Tensor q, Tensor k, Tensor v,
        Tensor output, Tensor lse, IProcessGroup group)
    {
        using var scope = NewDisposeScope();
        var kv = stack([k, v]);
        var dq = zeros(q.shape, ScalarType.Float32, device: q.device);
        RingShift? incoming = null;
        for (int step = 0; step < group.Size; step++)
        {
            var next = step + 1 < group.Size ? RingShift.Start(kv, group, RingShift.KeyValueTag) : null;
            using (var dkv = zeros(kv.shape, ScalarType.Float32, device: q.device))
            {
                blocks.Gradients(dq, dkv, gradOut, q, output, lse, kv, Source(group, step));
                if (incoming != null)
                    using (var received = incoming.Wait()) dkv.add_(received);
                incoming = RingShift.Start(dkv, group, RingShift.GradientTag); // the transfer holds its own reference
            }
            if (next != null) kv = Replace(kv, next.Wait());
        }
        return Results(dq, incoming!.Wait(), q, k, v);
    }

    /// <summary>Frees a ring step's keys and values once the next step's have arrived (their send has completed).</summary>
    private static Tensor Replace(Tensor previous, Tensor received)
    {
        previous.Dispose();
        return received;
    }

    /// <summary>The rank whose keys and values this rank holds at a ring step (its own at step 0).</summary>
    private static int Source(IProcessGroup group, int step) => ((group.Rank - step) % group.Size + group.Size) % group.Size;

    /// <summary>Every rank's keys and values [ranks, 2, batch, kv_heads, local seq, head_dim], rank order.</summary>
    private static Tensor Gather(Tensor k, Tensor v, IProcessGroup group)
    {
        var kv = stack([k, v]);
        var gathered = empty([group.Size, .. kv.shape], kv.dtype, device: kv.device);
        ContextParallelTimes.Waiting(() => group.AllGather(gathered, kv));
        return gathered;
    }

    private static (Tensor Dq, Tensor Dk, Tensor Dv) Results(Tensor dq, Tensor dkv, Tensor q, Tensor k, Tensor v) =>
        (dq.to(q.dtype).MoveToOuterDisposeScope(), dkv[0].to(k.dtype).MoveToOuterDisposeScope(), dkv[1].to(v.dtype).MoveToOuterDisposeScope());
}
