using SharpTitan.Models.Llama3;
using static TorchSharp.torch;

namespace SharpTitan.Parallel;

/// <summary>
/// The core FSDP and activation checkpointing share: forward hooks on chosen blocks of a <see cref="Transformer"/>
/// turn each call of such a block into one autograd node (<see cref="BlockFunction"/>) whose backward the subclass
/// runs. A recomputing block runs its first forward under no_grad (nothing but its input is kept) and re-runs it in
/// backward, in an inner dispose scope, with the generator and autocast state of the first forward
/// (<see cref="RecomputeState"/>), so its gradients are bit-identical to plain autograd's.
/// </summary>
internal abstract class BlockNodes : IBlockOwner, IDisposable
{
    private readonly List<Action> _removeHooks = [];
    private Tensor? _lastGradInput;

    protected Transformer Model { get; }

    protected BlockNodes(Transformer model, IEnumerable<int> layers)
    {
        Model = model;
        foreach (int layer in layers)
        {
            var pre = model.layers[layer].register_forward_pre_hook((_, x, cos, sin) => PreForward(layer, x, cos, sin));
            var post = model.layers[layer].register_forward_hook((_, _, _, _, output) => PostForward(layer, output));
            _removeHooks.Add(pre.remove);
            _removeHooks.Add(post.remove);
        }
    }

    /// <summary>Before block <paramref name="layer"/> runs; may replace its input (null keeps the arguments).</summary>
    protected abstract (Tensor, Tensor, Tensor)? PreForward(int layer, Tensor x, Tensor cos, Tensor sin);

    /// <summary>After block <paramref name="layer"/> ran; returns what the model sees as its output.</summary>
    protected abstract Tensor PostForward(int layer, Tensor output);

    public abstract Tensor BlockBackward(BlockCall call, Tensor? savedInput, Tensor gradOutput);

    /// <summary>A recomputing block's first forward: remember the RNG/autocast state and switch grad off.</summary>
    protected static void BeginRecomputingForward(BlockCall call)
    {
        call.State = new RecomputeState();
        call.GradMode = set_grad_enabled(false);
    }

    /// <summary>
    /// Restores grad mode after a block's forward and makes the block one node: a recomputing block's no-grad
    /// output gets <see cref="BlockFunction"/> as its grad_fn; a kept block's output (with its own graph on
    /// <c>call.Output</c>) is handed on detached, behind the node.
    /// </summary>
    protected static Tensor EndForward(BlockCall call, Tensor output)
    {
        call.GradMode?.Dispose();
        call.GradMode = null;
        if (call.Recompute)
        {
            call.Output = output;
            var result = BlockFunction.Apply(call.Input!, call);
            call.Input = call.Output = null; // the node saved the input; the output belongs to the caller
            return result;
        }
        call.Output = output.DetachFromDisposeScope();
        var wrapped = BlockFunction.Apply(call.Input!, call);
        call.Input = null;
        return wrapped;
    }

    /// <summary>Re-runs a recomputing block's forward with grad, as its first forward ran; returns the new graph's input and output.</summary>
    protected static (Tensor GraphInput, Tensor Output) Recompute(BlockCall call, Tensor savedInput, Func<Tensor, Tensor> forward)
    {
        using (call.State!.Enter())
        using (enable_grad())
        {
            var graphInput = savedInput.detach().requires_grad_(true);
            return (graphInput, forward(graphInput));
        }
    }

    /// <summary>Backprops <paramref name="gradOutput"/> through a block's graph: [input gradient, parameter gradients...] (null where unused).</summary>
    protected static IList<Tensor> Gradients(Tensor output, Tensor graphInput, IEnumerable<Tensor> parameters, Tensor gradOutput) =>
        autograd.grad([output], [graphInput, .. parameters], [gradOutput], retain_graph: false, create_graph: false, allow_unused: true);

    /// <summary>
    /// The input gradient a backward returns must outlive its dispose scope until autograd has consumed it, which
    /// it has by the next block's backward (or the next step): keep it until then.
    /// </summary>
    protected Tensor KeepGradInput(Tensor gradInput)
    {
        ReleaseGradInput();
        _lastGradInput = gradInput.DetachFromDisposeScope();
        return _lastGradInput;
    }

    protected void ReleaseGradInput()
    {
        _lastGradInput?.Dispose();
        _lastGradInput = null;
    }

    public virtual void Dispose()
    {
        foreach (var remove in _removeHooks) remove();
        _removeHooks.Clear();
        ReleaseGradInput();
    }
}
