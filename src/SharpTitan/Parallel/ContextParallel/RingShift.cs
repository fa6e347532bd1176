using SharpTitan.Distributed;
using static TorchSharp.torch;

namespace SharpTitan.Parallel;

/// <summary>
/// One step of a ring over a group, outside autograd: every rank sends a tensor to the next rank and receives the
/// previous rank's, as one batch (<see cref="IProcessGroup.ExchangeAsync"/>), so no rank waits on another to start.
/// <see cref="Start"/> returns at once and the caller computes while the transfer is in flight: on NCCL the batch runs
/// on the group's stream and is posted here, in program order (NCCL matches transfers by order:
/// <see cref="IProcessGroup.MatchesByOrder"/>); MPI only moves data
/// inside its calls, so a worker thread waits on the batch (transfers in flight at the same time then take different
/// tags: <see cref="KeyValueTag"/>, <see cref="GradientTag"/>). <see cref="Wait"/> hands the received tensor to the
/// caller's dispose scope and counts the time blocked in <see cref="ContextParallelTimes"/>.
/// </summary>
internal sealed class RingShift
{
    /// <summary>Keys and values travelling forward around the ring.</summary>
    public const int KeyValueTag = 19;
    /// <summary>Key/value gradients travelling with them in backward.</summary>
    public const int GradientTag = 20;

    private readonly Tensor _send, _received;
    private readonly IReadOnlyList<IWork>? _works;
    private readonly Task? _worker;

    private RingShift(Tensor send, Tensor received, IReadOnlyList<IWork>? works, Task? worker) => (_send, _received, _works, _worker) = (send, received, works, worker);

    /// <summary>Starts sending <paramref name="x"/> to the next rank and receiving the previous rank's.</summary>
    public static RingShift Start(Tensor x, IProcessGroup group, int tag)
    {
        // Both tensors outlive the caller's scope until Wait: the transfer uses them meanwhile.
        var send = x.detach().contiguous().DetachFromDisposeScope();
        if (group.Size == 1) return new RingShift(send, send, null, null); // a ring of one: the tensor comes back to its sender
        var received = empty_like(send).DetachFromDisposeScope();
        int n = group.Size;
        PeerTransfer[] transfers = [PeerTransfer.Send(send, (group.Rank + 1) % n, tag), PeerTransfer.Receive(received, (group.Rank - 1 + n) % n, tag)];
        return group.MatchesByOrder
            ? new RingShift(send, received, group.ExchangeAsync(transfers), null)
            : new RingShift(send, received, null, Task.Run(() => { foreach (var w in group.ExchangeAsync(transfers)) w.Wait(); }));
    }

    /// <summary>The tensor the transfer received, owned by the caller's dispose scope.</summary>
    public Tensor Wait()
    {
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        foreach (var w in _works ?? []) w.Wait();
        _worker?.GetAwaiter().GetResult();
        ContextParallelTimes.AddWait(start);
        if (!ReferenceEquals(_send, _received)) _send.Dispose();
        // The tensor belongs to no dispose scope: hand out a view owned by the caller's.
        using (_received) return _received.view(_received.shape);
    }
}
