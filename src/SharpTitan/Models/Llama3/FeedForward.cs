using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace SharpTitan.Models.Llama3;

/// <summary>SwiGLU feed-forward: w2(silu(w1 x) * w3 x).</summary>
public sealed class FeedForward : nn.Module<Tensor, Tensor>
{
    public LinearLayer w1, w2, w3;

    public FeedForward(ModelArgs args) : base(nameof(FeedForward))
    {
        w1 = new LinearLayer(args.Dim, args.FfnHiddenDim);
        w2 = new LinearLayer(args.FfnHiddenDim, args.Dim);
        w3 = new LinearLayer(args.Dim, args.FfnHiddenDim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var gated = F.silu(w1.call(x)) * w3.call(x);
        return w2.call(gated).MoveToOuterDisposeScope();
    }

    public void ResetParameters(double outputStd)
    {
        ModelInit.TruncNormal(w1.weight!, 0.02);
        ModelInit.TruncNormal(w2.weight!, outputStd);
        ModelInit.TruncNormal(w3.weight!, outputStd);
    }
}
