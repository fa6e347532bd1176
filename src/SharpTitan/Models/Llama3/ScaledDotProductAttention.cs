using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace SharpTitan.Models.Llama3;

/// <summary>
/// Causal scaled dot-product attention (torchtitan's sdpa submodule): q [batch, heads, seq, head_dim], k and v
/// [batch, kv_heads, seq, head_dim], query head h reading key/value head h / (heads / kv_heads).
/// </summary>
public sealed class ScaledDotProductAttention() : nn.Module<Tensor, Tensor, Tensor, Tensor>(nameof(ScaledDotProductAttention))
{
    public override Tensor forward(Tensor q, Tensor k, Tensor v)
    {
        // TorchSharp's SDPA has no enable_gqa: repeat each key/value head for its group of query heads.
        long groups = q.shape[1] / k.shape[1];
        return F.scaled_dot_product_attention(q, RepeatKv(k, groups), RepeatKv(v, groups), is_casual: true);
    }

    /// <summary>Each key/value head repeated for its group of <paramref name="groups"/> query heads (grouped-query attention).</summary>
    internal static Tensor RepeatKv(Tensor kv, long groups)
    {
        if (groups == 1) return kv;
        long b = kv.shape[0], h = kv.shape[1], s = kv.shape[2], d = kv.shape[3];
        return kv.unsqueeze(2).expand(b, h, groups, s, d).reshape(b, h * groups, s, d);
    }
}
