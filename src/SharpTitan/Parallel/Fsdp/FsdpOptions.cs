using SharpTitan.Float8;
using static TorchSharp.torch;

namespace SharpTitan.Parallel;

/// <summary>Settings of the FSDP/HSDP/DDP transform.</summary>
/// <param name="BeforeReduce">Called with each parameter's name and flat gradient before the reduce-scatter
/// (tensor parallel sums sequence-parallel norm gradients over its group there).</param>
/// <param name="Checkpoint">Blocks activation checkpointing recomputes (see <see cref="ActivationCheckpointPlan"/>);
/// a block recomputes once when it reshards, is checkpointed, or both.</param>
/// <param name="Float8AllGather">Gathers the weights of float8 linears as float8 (float8.enable_fsdp_float8_all_gather).</param>
/// <param name="PrecomputeFloat8Scales">Their scales come from <see cref="FsdpModel.PrecomputeFloat8Scales"/>
/// (float8.precompute_float8_dynamic_scale_for_fsdp) instead of one all-reduce per gather.</param>
internal sealed record FsdpOptions(Config.ReshardPolicy ReshardAfterForward, ScalarType ParamDtype, bool Overlap, Action<string, Tensor>? BeforeReduce = null,
    bool[]? Checkpoint = null, IFloat8AllGather? Float8AllGather = null, bool PrecomputeFloat8Scales = false);
