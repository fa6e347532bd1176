using System.Runtime.InteropServices;
using TorchSharp;

namespace SharpTitan.Native;

/// <summary>
/// libtorch's CPU flash attention with its log-sum-exp (torch._scaled_dot_product_flash_attention_for_cpu and its
/// backward), which TorchSharp does not bind, through the plain C entry points libtorch_cpu.so exports for
/// AOTInductor (generated c_shim_cpu.h; optional tensors are AtenTensorHandle*, optional doubles double*, null for
/// None; bools int32; each ret a new heap at::Tensor that the returned Tensor owns):
/// <code>
/// aoti_torch_cpu__scaled_dot_product_flash_attention_for_cpu(query, key, value, double dropout_p, int32 is_causal,
///     AtenTensorHandle* attn_mask, double* scale, AtenTensorHandle* out, AtenTensorHandle* logsumexp)
/// aoti_torch_cpu__scaled_dot_product_flash_attention_for_cpu_backward(grad_out, query, key, value, out, logsumexp,
///     double dropout_p, int32 is_causal, AtenTensorHandle* attn_mask, double* scale,
///     AtenTensorHandle* grad_query, AtenTensorHandle* grad_key, AtenTensorHandle* grad_value)
/// </code>
/// (the C++ symbols at::cpu::_scaled_dot_product_flash_attention_for_cpu(Tensor, Tensor, Tensor, double, bool,
/// optional&lt;Tensor&gt;, optional&lt;double&gt;) and its _backward(6 x Tensor, double, bool, optional, optional) agree).
/// Layout: q [B, H, Sq, D], k and v [B, H, Sk, D] with as many heads as q; out [B, H, Sq, D] in q's dtype; the
/// log-sum-exp [B, H, Sq] in float32 (bf16 inputs too). is_causal masks key j &gt; query i (top-left aligned: the
/// usual causal mask when Sq = Sk). Scale 1/sqrt(D). On failure libtorch prints the exception to stderr and
/// returns non-zero.
/// </summary>
internal static partial class FlashAttentionKernel
{
    [LibraryImport("torch_cpu", EntryPoint = "aoti_torch_cpu__scaled_dot_product_flash_attention_for_cpu")]
    private static partial int Forward(nint query, nint key, nint value, double dropoutP, int isCausal, nint attnMask, nint scale,
        out nint output, out nint logSumExp);

    [LibraryImport("torch_cpu", EntryPoint = "aoti_torch_cpu__scaled_dot_product_flash_attention_for_cpu_backward")]
    private static partial int Backward(nint gradOut, nint query, nint key, nint value, nint output, nint logSumExp,
        double dropoutP, int isCausal, nint attnMask, nint scale, out nint gradQuery, out nint gradKey, out nint gradValue);

    /// <summary>Whether the kernel takes <paramref name="t"/>'s device (the CPU build's entry points: CPU tensors only).</summary>
    public static bool Supports(torch.Tensor t) => t.device_type == DeviceType.CPU;

    /// <summary>softmax(q kᵀ / sqrt(D)) v and each query's log-sum-exp of its scaled scores (float32).</summary>
    public static (torch.Tensor Out, torch.Tensor Lse) Attend(torch.Tensor q, torch.Tensor k, torch.Tensor v, bool causal)
    {
        TorchRuntime.EnsureLoaded();
        int rc = Forward(q.Handle, k.Handle, v.Handle, 0.0, causal ? 1 : 0, 0, 0, out var output, out var lse);
        if (rc != 0 || output == 0 || lse == 0)
            throw new InvalidOperationException($"libtorch flash attention (CPU) failed for q {Describe(q)}, k {Describe(k)} (libtorch's message is on stderr)");
        return (torch.Tensor.UnsafeCreateTensor(output), torch.Tensor.UnsafeCreateTensor(lse));
    }

    /// <summary>
    /// The gradients of q, k and v given the output's gradient, with <paramref name="output"/> and
    /// <paramref name="lse"/> the forward's (or, for one block of a larger attention, the whole attention's:
    /// the block's softmax is then exp(scores - lse) and its gradients are that block's share of the whole).
    /// </summary>
    public static (torch.Tensor Dq, torch.Tensor Dk, torch.Tensor Dv) Gradients(torch.Tensor gradOut, torch.Tensor q, torch.Tensor k,
        torch.Tensor v, torch.Tensor output, torch.Tensor lse, bool causal)
    {
        TorchRuntime.EnsureLoaded();
        int rc = Backward(gradOut.Handle, q.Handle, k.Handle, v.Handle, output.Handle, lse.Handle, 0.0, causal ? 1 : 0, 0, 0,
            out var dq, out var dk, out var dv);
        if (rc != 0 || dq == 0 || dk == 0 || dv == 0)
            throw new InvalidOperationException($"libtorch flash attention backward (CPU) failed for q {Describe(q)}, k {Describe(k)} (libtorch's message is on stderr)");
        return (torch.Tensor.UnsafeCreateTensor(dq), torch.Tensor.UnsafeCreateTensor(dk), torch.Tensor.UnsafeCreateTensor(dv));
    }

    private static string Describe(torch.Tensor t) => $"[{string.Join(", ", t.shape)}] {t.dtype}";
}
