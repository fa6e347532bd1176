using static TorchSharp.torch;

namespace SharpTitan.Float8;

/// <summary>
/// What FSDP's float8 all-gather (float8.enable_fsdp_float8_all_gather) needs from the float8 layers: which
/// parameters to gather as float8, where to hand the gathered float8 weights, and how to make their scales
/// independent of tensor-parallel splits.
/// </summary>
internal interface IFloat8AllGather
{
    /// <summary>True for the weight of a float8 linear, by parameter name (layers.0.attention.wq.weight).</summary>
    bool GathersInFloat8(string parameterName);

    /// <summary>The gathered float8 weight (null: freed again). The kernel uses it instead of casting the weight.</summary>
    void SetGathered(string parameterName, Float8Tensor? weight);

    /// <summary>
    /// Amaxes of whole weights over the FSDP shards (float32, in place): under tensor parallel also the max over
    /// the TP group, as the kernel does for its own tensorwise casts. Every TP rank calls it alike.
    /// </summary>
    void ReduceWeightAmaxes(Tensor amaxes);
}
