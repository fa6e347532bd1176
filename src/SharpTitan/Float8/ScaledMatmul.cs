using SharpTitan.Native;
using static TorchSharp.torch;

namespace SharpTitan.Float8;

/// <summary>How float8 matmuls run.</summary>
internal enum Float8MatmulMode
{
    /// <summary>libtorch's _scaled_mm (<see cref="ScaledMatmulKernel"/>).</summary>
    ScaledMm,
    /// <summary>float8.emulate: the float8 values (exact in bf16 and fp32) multiplied in the output dtype, then scaled.</summary>
    Emulated,
}

/// <summary>a @ b for float8 operands, each carrying its scale: a [M, K] with a scalar or [M, 1] scale, b [K, N] with a scalar or [1, N] one.</summary>
internal static class ScaledMatmul
{
    public static Tensor Multiply(Float8Tensor a, Float8Tensor b, ScalarType outDtype, Float8MatmulMode mode)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        Tensor result;
        // CUDA's kernel also takes rowwise scales, for a bf16 output; the CPU's tensorwise ones only.
        bool kernel = a.IsTensorwise && b.IsTensorwise || !ComputeDevice.IsCpu(a.Data.device) && outDtype == ScalarType.BFloat16;
        if (mode == Float8MatmulMode.ScaledMm && kernel)
            result = ScaledMatmulKernel.Run(a.Data, b.Data, a.Scale.reciprocal(), b.Scale.reciprocal(), outDtype);
        else
        {
            // As a float8 kernel does it: products of the float8 values accumulated (fp32 inside the matmul), then
            // scaled once per output element.
            var product = a.Data.to(outDtype).mm(b.Data.to(outDtype));
            result = product.mul_(a.Scale.reciprocal()).mul_(b.Scale.reciprocal());
        }
        return result.MoveToOuterDisposeScope();
    }
}
