using SharpTitan.Distributed;
using static TorchSharp.torch;

namespace SharpTitan.Parallel;

/// <summary>
/// One step of a ring over a group, outside autograd: every rank sends a tensor to the next rank and receives the
/// previous rank's. The transfer runs on a worker thread (<see cref="Start"/>) so the caller computes while it is in
/// flight; <see cref="Wait"/> hands the received tensor to the caller's dispose scope and counts the time blocked in
/// <see cref="ContextParallelTimes"/>. Rank 0 receives before it sends, every other rank sends first: the blocking
/// point-to-point calls then complete as a chain around the ring, with no deadlock for any group size. Transfers in
/// flight at the same time take different tags (<see cref="KeyValueTag"/>, <see cref="GradientTag"/>).
/// </summary>
internal static class RingShift
{
    /// <summary>Keys and values travelling forward around the ring.</summary>
    public const int KeyValueTag = 19;
    /// <summary>Key/value gradients travelling with them in backward.</summary>
    public const int GradientTag = 20;

    /// <summary>Starts sending <paramref name="x"/> to the next rank and receiving the previous rank's.</summary>
    public static Task<Tensor> Start(Tensor x, IProcessGroup group, int tag)
    {
        var send = x.detach().contiguous().DetachFromDisposeScope();
        if (group.Size == 1) return Task.FromResult(send); // a ring of one: the tensor comes back to its sender
        return Task.Run(() =>
        {
            using (send) return Rotate(send, group, tag);
        });
    }

    /// <summary>The tensor a <see cref="Start"/>ed transfer received, owned by the caller's dispose scope.</summary>
    public static Tensor Wait(Task<Tensor> transfer)
    {
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        // The worker thread's tensor belongs to no dispose scope: hand out a view owned by the caller's.
        using var received = transfer.GetAwaiter().GetResult();
        ContextParallelTimes.AddWait(start);
        return received.view(received.shape);
    }

    private static Tensor Rotate(Tensor send, IProcessGroup group, int tag)
    {
        int n = group.Size, rank = group.Rank;
        int destination = (rank + 1) % n, source = (rank - 1 + n) % n;
        var received = empty_like(send);
        if (rank == 0)
        {
            group.Recv(received, source, tag);
            group.Send(send, destination, tag);
        }
        else
        {
            group.Send(send, destination, tag);
            group.Recv(received, source, tag);
        }
        return received;
    }
}
