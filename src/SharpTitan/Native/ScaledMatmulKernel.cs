using System.Runtime.InteropServices;
using TorchSharp;

namespace SharpTitan.Native;

/// <summary>
/// libtorch's float8 scaled matmul (torch._scaled_mm), which TorchSharp does not bind, through the plain C entry
/// point libtorch_cpu.so exports for AOTInductor: aoti_torch_cpu__scaled_mm(self, mat2, scale_a, scale_b,
/// AtenTensorHandle* bias, AtenTensorHandle* scale_result, int32_t* out_dtype, int32_t use_fast_accum,
/// AtenTensorHandle* ret0) -> 0 on success. A handle is an at::Tensor*, the same thing a TorchSharp tensor
/// handle is; the result is a new heap at::Tensor that the returned Tensor owns (disposing deletes it).
/// On failure libtorch prints the exception to stderr and returns non-zero.
/// </summary>
internal static partial class ScaledMatmulKernel
{
    [LibraryImport("torch_cpu", EntryPoint = "aoti_torch_cpu__scaled_mm")]
    private static partial int ScaledMm(nint self, nint mat2, nint scaleA, nint scaleB, nint bias, nint scaleResult,
        ref int outDtype, int useFastAccum, out nint result);

    // The same entry point for CUDA tensors, exported by libtorch_cuda.so (loaded only on the CUDA path).
    [LibraryImport("torch_cuda", EntryPoint = "aoti_torch_cuda__scaled_mm")]
    private static partial int ScaledMmCuda(nint self, nint mat2, nint scaleA, nint scaleB, nint bias, nint scaleResult,
        ref int outDtype, int useFastAccum, out nint result);

    /// <summary>
    /// (a * scaleA) @ (b * scaleB) in <paramref name="outDtype"/>: a [M, K] and b [K, N] float8, the scales float32
    /// dequantization multipliers (the reciprocal of the quantization scale). libtorch 2.10 on CPU takes one scale
    /// per tensor only.
    /// </summary>
    public static torch.Tensor Run(torch.Tensor a, torch.Tensor b, torch.Tensor scaleA, torch.Tensor scaleB, torch.ScalarType outDtype)
    {
        TorchRuntime.EnsureLoaded();
        int dtype = (int)outDtype;
        int rc;
        nint handle;
        if (a.device_type == DeviceType.CUDA)
        {
            // cuBLASLt wants a row-major, b column-major, and contiguous float32 scales.
            using var scope = torch.NewDisposeScope();
            var rowMajorA = a.contiguous();
            var columnMajorB = b.stride(0) == 1 ? b : b.t().contiguous().t();
            rc = ScaledMmCuda(rowMajorA.Handle, columnMajorB.Handle, scaleA.contiguous().Handle, scaleB.contiguous().Handle, 0, 0, ref dtype, 0, out handle);
        }
        else rc = ScaledMm(a.Handle, b.Handle, scaleA.Handle, scaleB.Handle, 0, 0, ref dtype, 0, out handle);
        if (rc != 0 || handle == 0)
            throw new InvalidOperationException(
                $"libtorch _scaled_mm failed for [{string.Join(", ", a.shape)}] {a.dtype} x [{string.Join(", ", b.shape)}] {b.dtype} (libtorch's message is on stderr)");
        return torch.Tensor.UnsafeCreateTensor(handle);
    }
}
