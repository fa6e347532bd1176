using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SharpTitan.Models.Llama3;

/// <summary>
/// The Llama 3 decoder: token embedding, n_layers blocks, final RMSNorm, output projection. Parameter names match
/// torchtitan's (tok_embeddings.weight, layers.0.attention.wq.weight, ..., norm.weight, output.weight).
/// Knows nothing of parallelism: transforms in Parallel/ wrap or replace its pieces.
/// </summary>
public sealed class Transformer : nn.Module<Tensor, Tensor>
{
    public ModelArgs Args { get; }
    public Embedding tok_embeddings;
    public ModuleList<TransformerBlock> layers;
    public RMSNorm norm;
    public LinearLayer? output;

    // Rotary tables are derived state, not parameters: kept out of state dicts, rebuilt on construction.
    private Tensor _ropeCos, _ropeSin;

    public Transformer(ModelArgs args) : base(nameof(Transformer))
    {
        args.Validate();
        Args = args;
        tok_embeddings = nn.Embedding(args.VocabSize, args.Dim);
        layers = nn.ModuleList(Enumerable.Range(0, args.NLayers).Select(i => new TransformerBlock(i, args)).ToArray());
        norm = new RMSNorm(args.Dim, args.NormEps);
        output = args.TieEmbeddings ? null : new LinearLayer(args.Dim, args.VocabSize);
        RegisterComponents();
        (_ropeCos, _ropeSin) = RotaryEmbedding.Tables(args, args.MaxSeqLen);
    }

    /// <summary>Logits [batch, seq, vocab] for tokens [batch, seq].</summary>
    public override Tensor forward(Tensor tokens)
    {
        using var scope = NewDisposeScope();
        // call (not forward) runs module hooks: parallel transforms hook into the modules there.
        FollowDevice(tokens);
        var h = tok_embeddings.call(tokens);
        foreach (var layer in layers) h = layer.call(h, _ropeCos, _ropeSin);
        h = norm.call(h);
        var logits = output != null ? output.call(h) : nn.functional.linear(h, tok_embeddings.weight!);
        return logits.MoveToOuterDisposeScope();
    }

    // The tables are built on the host and follow the tokens to wherever the model was placed.
    private void FollowDevice(Tensor tokens)
    {
        if (_ropeCos.device_type == tokens.device_type && _ropeCos.device_index == tokens.device_index) return;
        var (cos, sin) = (_ropeCos.to(tokens.device).DetachFromDisposeScope(), _ropeSin.to(tokens.device).DetachFromDisposeScope());
        _ropeCos.Dispose();
        _ropeSin.Dispose();
        (_ropeCos, _ropeSin) = (cos, sin);
    }

    /// <summary>torchtitan's init: embedding N(0,1); blocks depth-scaled; output trunc-normal with std dim^-0.5.</summary>
    public void InitWeights()
    {
        using (no_grad()) nn.init.normal_(tok_embeddings.weight!);
        foreach (var layer in layers) layer.ResetParameters();
        norm.ResetParameters();
        if (output != null)
        {
            double std = Math.Pow(Args.Dim, -0.5);
            ModelInit.TruncNormal(output.weight!, std, -3 * std, 3 * std);
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _ropeCos.Dispose();
            _ropeSin.Dispose();
        }
        base.Dispose(disposing);
    }
}
