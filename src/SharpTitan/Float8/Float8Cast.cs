using static TorchSharp.torch;

namespace SharpTitan.Float8;

/// <summary>
/// Dynamic float8 scaling (torchao's): amax = max |x| over the whole tensor or along one axis; scale = format
/// max / amax (computed in float64, kept as float32; amax below 1e-12 counts as 1e-12, so an all-zero tensor
/// gets a finite scale); data = clamp(x * scale, ±max) cast to float8 (round to nearest even).
/// </summary>
internal static class Float8Cast
{
    /// <summary>torchao's floor for amax.</summary>
    public const double MinAmax = 1e-12;

    /// <summary>
    /// max |x| in float32: over everything (a scalar) when <paramref name="dim"/> is null, else along dim (kept as
    /// a size-1 axis, so it broadcasts against x).
    /// </summary>
    public static Tensor Amax(Tensor x, long? dim = null)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        // max(|max x|, |min x|) = max |x| without materialising |x|.
        var amax = dim is long d
            ? maximum(x.amax([d], keepdim: true).abs(), x.amin([d], keepdim: true).abs())
            : maximum(x.max().abs(), x.min().abs());
        return amax.to(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// format max / amax as float32. <paramref name="powerOfTwo"/> rounds the scale down to a power of two
    /// (torchao's rowwise recipe: scaling then only shifts exponents and loses no mantissa bits).
    /// </summary>
    public static Tensor ScaleFromAmax(Tensor amax, Float8Format format, bool powerOfTwo = false)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var scale = amax.to(ScalarType.Float64).clamp_min(MinAmax).reciprocal().mul_(format.Max).to(ScalarType.Float32);
        if (powerOfTwo) scale = scale.log2().floor_().exp2_();
        return scale.MoveToOuterDisposeScope();
    }

    /// <summary>x (any float dtype) quantized with a given scale (scalar, or broadcasting along one axis).</summary>
    public static Float8Tensor Quantize(Tensor x, Tensor scale, Float8Format format)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var scaled = x.to(ScalarType.Float32, copy: true).mul_(scale).clamp_(-format.Max, format.Max);
        var data = scaled.to(format.Dtype);
        return new Float8Tensor(data.MoveToOuterDisposeScope(), scale.alias().MoveToOuterDisposeScope(), format);
    }

    /// <summary>Dynamic quantization: the scale from x's own amax (see <see cref="Amax"/>).</summary>
    public static Float8Tensor Quantize(Tensor x, Float8Format format, long? dim = null, bool powerOfTwo = false)
    {
        using var amax = Amax(x, dim);
        using var scale = ScaleFromAmax(amax, format, powerOfTwo);
        return Quantize(x, scale, format);
    }

    /// <summary>Data / Scale in <paramref name="dtype"/>.</summary>
    public static Tensor Dequantize(Float8Tensor q, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        return q.Data.to(ScalarType.Float32).div_(q.Scale).to(dtype).MoveToOuterDisposeScope();
    }
}
