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
        var h = Embed(tokens);
        for (int i = 0; i < layers.Count; i++) h = Layer(i, h);
        return Head(h).MoveToOuterDisposeScope();
    }

    // The three pieces of forward, in order (a pipeline stage runs a contiguous run of them). call (not forward)
    // runs module hooks: parallel transforms hook into the modules there.

    /// <summary>Token embeddings [batch, seq, dim] for tokens [batch, seq].</summary>
    public Tensor Embed(Tensor tokens)
    {
        FollowDevice(tokens);
        return tok_embeddings.call(tokens);
    }

    /// <summary>Block <paramref name="index"/> on hidden states [batch, seq, dim].</summary>
    public Tensor Layer(int index, Tensor h)
    {
        FollowDevice(h);
        return layers[index].call(h, _ropeCos, _ropeSin);
    }

    /// <summary>Final norm and output projection (the embedding when tied): logits [batch, seq, vocab].</summary>
    public Tensor Head(Tensor h)
    {
        h = norm.call(h);
        return output != null ? output.call(h) : nn.functional.linear(h, tok_embeddings.weight!);
    }

    // The tables are built on the host and follow the tokens to wherever the model was placed.
    private void FollowDevice(Tensor input)
    {
        if (_ropeCos.device_type == input.device_type && _ropeCos.device_index == input.device_index) return;
        var (cos, sin) = (_ropeCos.to(input.device).DetachFromDisposeScope(), _ropeSin.to(input.device).DetachFromDisposeScope());
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
