using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace SharpTitan.Models.Llama3;

/// <summary>Causal scaled dot-product attention on [batch, heads, seq, head_dim] (torchtitan's sdpa submodule).</summary>
public sealed class ScaledDotProductAttention() : nn.Module<Tensor, Tensor, Tensor, Tensor>(nameof(ScaledDotProductAttention))
{
    public override Tensor forward(Tensor q, Tensor k, Tensor v) => F.scaled_dot_product_attention(q, k, v, is_casual: true);
}
