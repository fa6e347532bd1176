using static TorchSharp.torch;

namespace SharpTitan.Native;

/// <summary>The one map between dtype names (as configs, checkpoints and safetensors files spell them) and libtorch dtypes.</summary>
public static class Dtypes
{
    public static string Name(ScalarType t) => t switch
    {
        ScalarType.Float32 => "float32",
        ScalarType.BFloat16 => "bfloat16",
        ScalarType.Float16 => "float16",
        ScalarType.Float64 => "float64",
        ScalarType.Int64 => "int64",
        ScalarType.Int32 => "int32",
        ScalarType.Byte => "uint8",
        _ => throw new NotSupportedException($"dtype {t} in a checkpoint"),
    };

    public static ScalarType Parse(string name, string where) => name switch
    {
        "float32" => ScalarType.Float32,
        "bfloat16" => ScalarType.BFloat16,
        "float16" => ScalarType.Float16,
        "float64" => ScalarType.Float64,
        "int64" => ScalarType.Int64,
        "int32" => ScalarType.Int32,
        "uint8" => ScalarType.Byte,
        _ => throw new InvalidDataException($"{where}: unknown dtype \"{name}\""),
    };

    public static int Size(ScalarType t) => t switch
    {
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.BFloat16 or ScalarType.Float16 => 2,
        ScalarType.Byte => 1,
        _ => throw new NotSupportedException($"dtype {t} in a checkpoint"),
    };
}
