using TorchSharp;

namespace SharpTitan.Distributed.Mpi;

/// <summary>Maps torch dtypes and reduce ops to MPI datatypes and ops.</summary>
internal static class MpiDtypes
{
    /// <summary>The MPI type MPI can do arithmetic on; low-precision floats are widened to float32 before.</summary>
    public static nint ReductionType(MpiHandles h, torch.ScalarType dtype) => dtype switch
    {
        torch.ScalarType.Float32 => h.Float,
        torch.ScalarType.Float64 => h.Double,
        torch.ScalarType.Int32 => h.Int32,
        torch.ScalarType.Int64 => h.Int64,
        _ => throw new ArgumentException($"MPI cannot reduce {dtype} (float32, float64, bfloat16, float16, int32, int64 can)"),
    };

    public static void RequireReducible(string op, torch.ScalarType dtype)
    {
        if (dtype is not (torch.ScalarType.Float32 or torch.ScalarType.Float64 or torch.ScalarType.Int32
            or torch.ScalarType.Int64 or torch.ScalarType.BFloat16 or torch.ScalarType.Float16))
            throw new ArgumentException($"{op}: cannot reduce {dtype} (float32, float64, bfloat16, float16, int32, int64 can)");
    }

    public static nint Op(MpiHandles h, ReduceOp op) => op switch
    {
        ReduceOp.Sum or ReduceOp.Avg => h.OpSum,
        ReduceOp.Max => h.OpMax,
        ReduceOp.Min => h.OpMin,
        _ => throw new ArgumentOutOfRangeException(nameof(op), $"unknown reduce op {op}"),
    };

    /// <summary>
    /// For moving bytes unchanged (gather, broadcast, send): an integer type as wide as possible that divides the
    /// element size, and its width in bytes. Counts are in these units.
    /// </summary>
    public static (nint Type, int Unit) RawType(MpiHandles h, torch.Tensor t)
    {
        var size = t.ElementSize;
        if (size % 8 == 0) return (h.Int64, 8);
        if (size % 4 == 0) return (h.Int32, 4);
        if (size % 2 == 0) return (h.Int16, 2);
        return (h.Byte, 1);
    }
}
