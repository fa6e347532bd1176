using static TorchSharp.torch;

namespace SharpTitan.Config;

/// <summary>
/// The one map between <see cref="Dtype"/> (torch's dtype names, as configs and checkpoints write them) and
/// TorchSharp's ScalarType, with each dtype's element size. It lives in Config, not Native: Native is below
/// Models, which Config reads, so a map in Native could not see the Config enum without a dependency cycle.
/// </summary>
public static class DtypeScalarTypes
{
    private static readonly (Dtype Dtype, ScalarType ScalarType, int Size)[] Table =
    [
        (Dtype.Float32, ScalarType.Float32, 4),
        (Dtype.BFloat16, ScalarType.BFloat16, 2),
        (Dtype.Float16, ScalarType.Float16, 2),
        (Dtype.Float64, ScalarType.Float64, 8),
        (Dtype.Int64, ScalarType.Int64, 8),
        (Dtype.Int32, ScalarType.Int32, 4),
        (Dtype.Uint8, ScalarType.Byte, 1),
    ];

    public static ScalarType ToScalarType(this Dtype dtype) => Row(dtype).ScalarType;

    /// <summary>Bytes per element.</summary>
    public static int Size(this Dtype dtype) => Row(dtype).Size;

    /// <summary>torch's name of a ScalarType (`float32`, `bfloat16`), as configs write it; TorchSharp's name when it has none here.</summary>
    public static string TorchName(this ScalarType type) => type.ToDtype()?.ToConfigString() ?? type.ToString();

    /// <summary>The dtype of a ScalarType, or null when it has no name here.</summary>
    public static Dtype? ToDtype(this ScalarType type)
    {
        foreach (var row in Table)
            if (row.ScalarType == type) return row.Dtype;
        return null;
    }

    private static (Dtype Dtype, ScalarType ScalarType, int Size) Row(Dtype dtype)
    {
        foreach (var row in Table)
            if (row.Dtype == dtype) return row;
        throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "not a dtype");
    }
}
