using SharpTitan.Native;
using static TorchSharp.torch;

namespace SharpTitan.Parallel;

/// <summary>
/// y = u Wᵀ during a selective-op recompute without the matmul: forward hands back a value the first forward kept
/// (or zeros where no backward formula reads y); backward is the linear's own: du = dy W, dW = (uᵀ dy)ᵀ, with u
/// the recomputed input. Shaped as autograd's backward of linear (a 2-d mm each) so the result matches it.
/// </summary>
internal sealed class ReplayLinearFunction : LeanFunction<ReplayLinearFunction>
{
    public override string Name => "ReplayLinear";

    // vars: [input u, weight W, value]
    protected override Tensor Forward(autograd.AutogradContext ctx, object[] vars)
    {
        var (u, w, value) = ((Tensor)vars[0], (Tensor)vars[1], (Tensor)vars[2]);
        ctx.save_for_backward([u, w]);
        return value.detach();
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        using var scope = new BackwardScope(gradOutput);
        var saved = ctx.get_saved_variables();
        var (u, w) = (saved[0], saved[1]);
        long inFeatures = w.shape[1], outFeatures = w.shape[0];
        var g2 = gradOutput.reshape(-1, outFeatures);
        var gradInput = g2.mm(w).view([.. u.shape]);
        var gradWeight = u.reshape(-1, inFeatures).t().mm(g2).t();
        return scope.HandOut(gradInput, gradWeight, null);
    }
}

/// <summary>
/// Attention during a selective-op recompute without recomputing it: forward hands back the output the first
/// forward kept; backward runs that forward's own small graph (saved with its q, k, v and softmax statistics)
/// and returns the gradients of q, k and v.
/// </summary>
internal sealed class ReplayAttentionFunction : LeanFunction<ReplayAttentionFunction>
{
    public override string Name => "ReplayAttention";

    // vars: [q, k, v, KeptAttention]
    protected override Tensor Forward(autograd.AutogradContext ctx, object[] vars)
    {
        var kept = (KeptAttention)vars[3];
        ctx.save_data("kept", kept);
        return kept.Output.detach();
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        using var scope = new BackwardScope(gradOutput);
        var kept = (KeptAttention)ctx.get_data("kept");
        var grads = autograd.grad([kept.Output], [kept.Q, kept.K, kept.V], [gradOutput], retain_graph: false, create_graph: false, allow_unused: false);
        return scope.HandOut([.. grads, null]);
    }
}

/// <summary>One attention call of a first forward: its input leaves and its output with their graph.</summary>
internal sealed class KeptAttention(Tensor q, Tensor k, Tensor v) : IDisposable
{
    public Tensor Q { get; } = q;
    public Tensor K { get; } = k;
    public Tensor V { get; } = v;
    public Tensor Output { get; set; } = null!;

    public void Dispose()
    {
        Q.Dispose();
        K.Dispose();
        V.Dispose();
        Output?.Dispose();
    }
}
