using static TorchSharp.torch;

namespace SharpTitan.Models.Llama3;

/// <summary>Pre-norm block: h = x + attention(norm(x)); out = h + feed_forward(norm(h)).</summary>
public sealed class TransformerBlock : nn.Module<Tensor, Tensor, Tensor, Tensor>
{
    private readonly int _layerId;
    private readonly ModelArgs _args;
    public Attention attention;
    public FeedForward feed_forward;
    public RMSNorm attention_norm, ffn_norm;

    public TransformerBlock(int layerId, ModelArgs args) : base(nameof(TransformerBlock))
    {
        _layerId = layerId;
        _args = args;
        attention = new Attention(args);
        feed_forward = new FeedForward(args);
        attention_norm = new RMSNorm(args.Dim, args.NormEps);
        ffn_norm = new RMSNorm(args.Dim, args.NormEps);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = NewDisposeScope();
        // call runs module hooks (tensor parallel redistributes activations there).
        var h = x + attention.call(attention_norm.call(x), cos, sin);
        var output = h + feed_forward.call(ffn_norm.call(h));
        return output.MoveToOuterDisposeScope();
    }

    public void ResetParameters()
    {
        double std = _args.DepthInit ? 0.02 / Math.Sqrt(2.0 * (_layerId + 1)) : 0.02 / Math.Sqrt(2.0 * _args.NLayers);
        attention_norm.ResetParameters();
        ffn_norm.ResetParameters();
        attention.ResetParameters(std);
        feed_forward.ResetParameters(std);
    }
}
