using SharpTitan.Models.Llama3;

namespace SharpTitan.Parallel;

/// <summary>
/// Applies [activation_checkpoint] to a plain model (torchtitan's order: after TP, before FSDP). Without data
/// parallelism it installs the recompute itself; under FSDP it returns nothing and the plan's blocks go to
/// <see cref="FsdpOptions.Checkpoint"/>, because FSDP already runs blocks as recomputing autograd nodes:
/// <list type="bullet">
/// <item>A block recomputes once if FSDP reshards it ("always"/"default"), AC checkpoints it, or both: AC on a
/// resharding block changes nothing, never a second recompute. "full" therefore matters under FSDP only for
/// blocks FSDP keeps ("never", the last block in "default", DDP); those recompute with their still-gathered
/// parameters.</item>
/// <item>Selective op under FSDP: blocks FSDP recomputes are already cheaper in memory than op-level AC (only
/// their input is kept), so it adds nothing there; blocks FSDP keeps keep their activations.</item>
/// </list>
/// </summary>
internal static class ActivationCheckpointing
{
    /// <returns>The installed transform (dispose to remove it), or null when nothing is installed.</returns>
    public static IDisposable? Apply(Transformer model, ActivationCheckpointPlan plan, bool dataParallel)
    {
        if (dataParallel || !plan.Any) return null;
        return plan.Op ? new CheckpointedBlocks(model, Enumerable.Repeat(true, plan.FullLayers.Length).ToArray(), selectiveOp: true)
            : new CheckpointedBlocks(model, plan.FullLayers);
    }
}
