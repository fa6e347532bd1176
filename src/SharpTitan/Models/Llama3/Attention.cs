using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace SharpTitan.Models.Llama3;

/// <summary>
/// Causal grouped-query self-attention. Head counts are inferred from the projection widths, so a transform that
/// shards wq/wk/wv by heads needs no change here. Submodules are run with call (not forward) so transforms can
/// hook them, as the blocks are.
/// </summary>
public sealed class Attention : nn.Module<Tensor, Tensor, Tensor, Tensor>
{
    private readonly int _headDim;
    private readonly int _nRep;
    public LinearLayer wq, wk, wv, wo;
    /// <summary>The attention kernel on [batch, heads, seq, head_dim]; a transform may replace it (context parallel does).</summary>
    public nn.Module<Tensor, Tensor, Tensor, Tensor> sdpa = new ScaledDotProductAttention();

    public Attention(ModelArgs args) : base(nameof(Attention))
    {
        _headDim = args.HeadDim;
        _nRep = args.NHeads / args.KvHeads;
        wq = new LinearLayer(args.Dim, (long)args.NHeads * _headDim);
        wk = new LinearLayer(args.Dim, (long)args.KvHeads * _headDim);
        wv = new LinearLayer(args.Dim, (long)args.KvHeads * _headDim);
        wo = new LinearLayer((long)args.NHeads * _headDim, args.Dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = NewDisposeScope();
        long bs = x.shape[0], seq = x.shape[1];
        var q = RotaryEmbedding.Apply(wq.call(x).view(bs, seq, -1, _headDim), cos, sin);
        var k = RotaryEmbedding.Apply(wk.call(x).view(bs, seq, -1, _headDim), cos, sin);
        var v = wv.call(x).view(bs, seq, -1, _headDim);
        // TorchSharp's SDPA has no enable_gqa: repeat each key/value head for its group of query heads.
        k = RepeatKv(k);
        v = RepeatKv(v);
        var o = sdpa.call(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2));
        var merged = o.transpose(1, 2).contiguous().view(bs, seq, -1);
        return wo.call(merged).MoveToOuterDisposeScope();
    }

    private Tensor RepeatKv(Tensor kv)
    {
        if (_nRep == 1) return kv;
        long b = kv.shape[0], s = kv.shape[1], h = kv.shape[2], d = kv.shape[3];
        return kv.unsqueeze(3).expand(b, s, h, _nRep, d).reshape(b, s, h * _nRep, d);
    }

    public void ResetParameters(double outputStd)
    {
        foreach (var w in new[] { wq, wk, wv }) ModelInit.TruncNormal(w.weight!, 0.02);
        ModelInit.TruncNormal(wo.weight!, outputStd);
    }
}
