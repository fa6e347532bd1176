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
    public LinearLayer wq, wk, wv, wo;
    /// <summary>
    /// The attention kernel: q [batch, heads, seq, head_dim], k and v [batch, kv_heads, seq, head_dim] (grouped-query
    /// attention's heads are repeated by the kernel, so a transform that replaces it, as context parallel does,
    /// moves keys and values at their own size).
    /// </summary>
    public nn.Module<Tensor, Tensor, Tensor, Tensor> sdpa = new ScaledDotProductAttention();

    public Attention(ModelArgs args) : base(nameof(Attention))
    {
        _headDim = args.HeadDim;
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
        var o = sdpa.call(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2));
        var merged = o.transpose(1, 2).contiguous().view(bs, seq, -1);
        return wo.call(merged).MoveToOuterDisposeScope();
    }

    public void ResetParameters(double outputStd)
    {
        foreach (var w in new[] { wq, wk, wv }) ModelInit.TruncNormal(w.weight!, 0.02);
        ModelInit.TruncNormal(wo.weight!, outputStd);
    }
}
