namespace SharpTitan.Config;

/// <summary>
/// Tensor dtypes by torch's names: the dtype config keys (training.dtype, mixed_precision_param / _reduce,
/// checkpoint.export_dtype; each key narrows the set with [OneOf]) and the dtypes checkpoints store.
/// <see cref="DtypeScalarTypes"/> maps them to TorchSharp's ScalarType.
/// </summary>
public enum Dtype
{
    Float32,
    [ConfigName("bfloat16")] BFloat16,
    Float16,
    Float64,
    Int64,
    Int32,
    Uint8,
}
