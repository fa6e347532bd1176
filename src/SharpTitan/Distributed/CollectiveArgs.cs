using SharpTitan.Native;
using TorchSharp;

namespace SharpTitan.Distributed;

/// <summary>Argument checks shared by every backend, so each fails the same way with a one-line message.</summary>
internal static class CollectiveArgs
{
    public static void RequireDense(string op, string what, torch.Tensor t, torch.Device device)
    {
        if (t.IsInvalid) throw new ArgumentException($"{op}: {what} is a disposed tensor");
        if (!ComputeDevice.IsOn(t, device))
            throw new ArgumentException($"{op}: {what} is on {t.device}, but this group's collectives take tensors on {device}");
        if (!t.is_contiguous()) throw new ArgumentException($"{op}: {what} must be contiguous (call .contiguous() first)");
    }

    public static void RequireSameDtype(string op, torch.Tensor output, torch.Tensor input)
    {
        if (output.dtype != input.dtype)
            throw new ArgumentException($"{op}: output is {output.dtype} but input is {input.dtype}");
    }

    public static void RequireNumel(string op, string what, torch.Tensor t, long expected, string why)
    {
        if (t.numel() != expected)
            throw new ArgumentException($"{op}: {what} has {t.numel()} elements but needs {expected} ({why})");
    }

    public static void RequirePeer(string op, string what, int peer, int size)
    {
        if (peer < 0 || peer >= size) throw new ArgumentOutOfRangeException(what, $"{op}: {what} {peer} is not a rank of a group of {size}");
    }

    public static void RequireReducible(string op, torch.Tensor t, ReduceOp reduce)
    {
        if (reduce == ReduceOp.Avg && !t.is_floating_point())
            throw new ArgumentException($"{op}: avg needs a floating-point tensor, got {t.dtype}");
    }

    /// <summary>Low-precision floats are reduced in float32 (MPI has no bfloat16 arithmetic).</summary>
    public static bool ReducesInFloat32(torch.ScalarType dtype) =>
        dtype is torch.ScalarType.BFloat16 or torch.ScalarType.Float16;
}
