using SharpTitan.Config;
using static TorchSharp.torch;

namespace SharpTitan.Checkpoint;

/// <summary>Dtype names as checkpoints and safetensors files spell them (torch's names: see <see cref="DtypeScalarTypes"/>).</summary>
internal static class Dtypes
{
    public static string Name(ScalarType t) =>
        t.ToDtype() is { } d ? d.ToConfigString() : throw new NotSupportedException($"dtype {t} in a checkpoint");

    public static ScalarType Parse(string name, string where) =>
        ConfigEnum.TryParse<Dtype>(name, out var d) ? d.ToScalarType() : throw new InvalidDataException($"{where}: unknown dtype \"{name}\"");

    public static int Size(ScalarType t) =>
        t.ToDtype() is { } d ? d.Size() : throw new NotSupportedException($"dtype {t} in a checkpoint");
}
