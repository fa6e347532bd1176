using SharpTitan.Native;
using static TorchSharp.torch;

namespace SharpTitan.Parallel;

/// <summary>
/// One transformer block as one autograd node: forward hands back the output the block already computed (see
/// <see cref="BlockNodes"/>); backward asks the owner to gather the parameters again where needed,
/// recompute, backprop through the block, start the reduce-scatter of its gradients and free the parameters.
/// This is how parameters can be freed between forward and backward without autograd holding them.
/// </summary>
internal sealed class BlockFunction : LeanFunction<BlockFunction>
{
    public override string Name => "FsdpBlock";

    // vars: [block input, BlockCall]
    protected override Tensor Forward(autograd.AutogradContext ctx, object[] vars)
    {
        var call = (BlockCall)vars[1];
        ctx.save_data("call", call);
        if (call.Recompute)
        {
            ctx.save_for_backward([(Tensor)vars[0]]);
            return call.Output!; // computed under no_grad: this node becomes its grad_fn
        }
        return call.Output!.detach(); // keeps the block's inner graph on call.Output
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        var call = (BlockCall)ctx.get_data("call");
        Tensor? input = call.Recompute ? ctx.get_saved_variables()[0] : null;
        var gradInput = call.Owner.BlockBackward(call, input, gradOutput);
        return [gradInput, null!];
    }
}
