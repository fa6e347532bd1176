using static TorchSharp.torch;

namespace SharpTitan.Float8;

/// <summary>
/// A float8 dtype and its largest finite value. TorchSharp has no names for them; libtorch's ScalarType values
/// are 24 (float8_e4m3fn: 4 exponent bits, 3 mantissa bits, no infinities, max 448) and 23 (float8_e5m2: max
/// 57344). libtorch's cast rounds to nearest even but does not saturate (e4m3fn turns 480 into NaN), so values are
/// clamped to ±Max before the cast.
/// </summary>
internal sealed record Float8Format(ScalarType Dtype, double Max, string Name)
{
    /// <summary>Forward operands (inputs, weights): more mantissa, less range.</summary>
    public static readonly Float8Format E4M3 = new((ScalarType)24, 448, "e4m3");
    /// <summary>Gradients of the tensorwise recipe: more range, less mantissa.</summary>
    public static readonly Float8Format E5M2 = new((ScalarType)23, 57344, "e5m2");

    public override string ToString() => Name;
}
