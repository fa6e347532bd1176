using SharpTitan.Distributed;
using SharpTitan.Native;
using static TorchSharp.torch;

namespace SharpTitan.Parallel;

internal sealed record TpCall(TpOp Op, IProcessGroup Group, long Dim, long FullSize);

/// <summary>One differentiable tensor-parallel collective (see <see cref="TpOp"/>).</summary>
internal sealed class TpCollective : LeanFunction<TpCollective>
{
    public override string Name => "TpCollective";

    /// <param name="fullSize">AllGatherReplicated over uneven blocks: the gathered size along dim.</param>
    public static Tensor Apply(Tensor x, TpOp op, IProcessGroup group, long dim = 1, long fullSize = -1) =>
        group.Size == 1 ? x : Apply(x, new TpCall(op, group, dim, fullSize));

    protected override Tensor Forward(autograd.AutogradContext ctx, object[] vars)
    {
        var x = (Tensor)vars[0];
        var call = (TpCall)vars[1];
        ctx.save_data("call", call);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var result = call.Op switch
        {
            TpOp.AllGather => TpComm.AllGather(x, call.Group, call.Dim),
            TpOp.AllGatherReplicated => TpComm.AllGather(x, call.Group, call.Dim, call.FullSize),
            TpOp.ReduceScatter => TpComm.ReduceScatter(x, call.Group, call.Dim),
            TpOp.AllReduce => TpComm.AllReduce(x, call.Group),
            TpOp.Copy => x.clone(), // a fresh tensor: a custom function must not hand back its input
            _ => throw new ArgumentOutOfRangeException(nameof(vars)),
        };
        return result.MoveToOuterDisposeScope();
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad)
    {
        using var scope = new BackwardScope(grad);
        var call = (TpCall)ctx.get_data("call");
        using var _ = no_grad();
        var result = call.Op switch
        {
            TpOp.AllGather => TpComm.ReduceScatter(grad, call.Group, call.Dim),
            TpOp.ReduceScatter => TpComm.AllGather(grad, call.Group, call.Dim),
            TpOp.AllReduce => grad.clone(),
            TpOp.Copy => TpComm.AllReduce(grad, call.Group),
            TpOp.AllGatherReplicated => TpComm.Chunk(grad, call.Group, call.Dim),
            _ => throw new InvalidOperationException(),
        };
        return scope.HandOut(result, null);
    }
}
