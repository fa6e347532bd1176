using SharpTitan.Distributed;
using SharpTitan.Native;
using static TorchSharp.torch;

namespace SharpTitan.Parallel;

internal sealed record RingStep(IProcessGroup Group, int Offset);

/// <summary>
/// Differentiable ring rotation over a group: every rank sends its tensor to rank + offset and receives rank - offset's;
/// backward rotates the gradients the other way. Rank 0 receives before it sends, every other rank sends first: the
/// blocking point-to-point calls then complete as a chain around the ring, with no deadlock for any group size.
/// </summary>
internal sealed class RingShift : autograd.SingleTensorFunction<RingShift>
{
    private const int Tag = 19;

    public override string Name => "RingShift";

    public static Tensor Apply(Tensor x, IProcessGroup group) => apply(x, new RingStep(group, 1));

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var step = (RingStep)vars[1];
        ctx.save_data("step", step);
        using var _ = no_grad();
        return Rotate((Tensor)vars[0], step.Group, step.Offset);
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad)
    {
        using var scope = new BackwardScope(grad);
        var step = (RingStep)ctx.get_data("step");
        using var _ = no_grad();
        return scope.HandOut(Rotate(grad, step.Group, -step.Offset), null);
    }

    /// <summary>Rank - offset's <paramref name="x"/> (non-differentiable).</summary>
    public static Tensor Rotate(Tensor x, IProcessGroup group, int offset)
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
