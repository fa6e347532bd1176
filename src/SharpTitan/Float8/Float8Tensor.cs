using static TorchSharp.torch;

namespace SharpTitan.Float8;

/// <summary>
/// A float8 tensor and its float32 scale: the high-precision value is Data / Scale. The scale is a scalar
/// (tensorwise) or broadcasts along one axis (rowwise: [rows, 1] or [1, columns]). Disposing disposes both.
/// </summary>
internal sealed record Float8Tensor(Tensor Data, Tensor Scale, Float8Format Format) : IDisposable
{
    /// <summary>The transposed matrix with its scale (a view; [M, 1] scales become [1, M]).</summary>
    public Float8Tensor T() => new(Data.t(), Scale.dim() == 0 ? Scale.alias() : Scale.t(), Format);

    public bool IsTensorwise => Scale.dim() == 0;

    /// <summary>Moves both tensors out of the current dispose scope (the caller owns this value).</summary>
    public Float8Tensor Detached()
    {
        Data.DetachFromDisposeScope();
        Scale.DetachFromDisposeScope();
        return this;
    }

    public void Dispose()
    {
        Data.Dispose();
        Scale.Dispose();
    }
}
