using SharpTitan.Distributed;
using SharpTitan.Native;
using static TorchSharp.torch;

namespace SharpTitan.Parallel;

internal sealed record RingStep(IProcessGroup Group, Task<Tensor> Received);

/// <summary>
/// Differentiable ring rotation over a group: every rank sends its tensor to the next rank and receives the previous
/// rank's; backward rotates the gradients the other way. The forward transfer runs on a worker thread
/// (<see cref="Start"/>) so the caller can compute while it is in flight; <see cref="Apply"/> waits for it and links
/// the received tensor into the graph. Rank 0 receives before it sends, every other rank sends first: the blocking
/// point-to-point calls then complete as a chain around the ring, with no deadlock for any group size.
/// </summary>
internal sealed class RingShift : autograd.SingleTensorFunction<RingShift>
{
    private const int Tag = 19;

    public override string Name => "RingShift";

    /// <summary>Starts sending <paramref name="x"/> to the next rank and receiving the previous rank's (no autograd yet).</summary>
    public static Task<Tensor> Start(Tensor x, IProcessGroup group)
    {
        var send = x.detach().contiguous().DetachFromDisposeScope();
        return Task.Run(() =>
        {
            using (send) return Rotate(send, group, 1);
        });
    }

    /// <summary>The previous rank's <paramref name="x"/> from a transfer <see cref="Start"/>ed on it, differentiable.</summary>
    public static Tensor Apply(Tensor x, IProcessGroup group, Task<Tensor> received) => apply(x, new RingStep(group, received));

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var step = (RingStep)vars[1];
        ctx.save_data("group", step.Group);
        // The worker thread's tensor belongs to no dispose scope: hand out a view owned by the caller's.
        using var received = step.Received.GetAwaiter().GetResult();
        return received.view(received.shape);
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad)
    {
        using var scope = new BackwardScope(grad);
        var group = (IProcessGroup)ctx.get_data("group");
        using var _ = no_grad();
        return scope.HandOut(Rotate(grad, group, -1), null);
    }

    /// <summary>Rank - offset's <paramref name="x"/> (non-differentiable).</summary>
    private static Tensor Rotate(Tensor x, IProcessGroup group, int offset)
    {
        int n = group.Size, rank = group.Rank;
        int destination = ((rank + offset) % n + n) % n, source = ((rank - offset) % n + n) % n;
        using var send = x.contiguous();
        var received = empty_like(send);
        if (rank == 0)
        {
            group.Recv(received, source, Tag);
            group.Send(send, destination, Tag);
        }
        else
        {
            group.Send(send, destination, Tag);
            group.Recv(received, source, Tag);
        }
        return received;
    }
}
