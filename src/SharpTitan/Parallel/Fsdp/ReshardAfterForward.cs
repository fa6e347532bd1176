using SharpTitan.Config;

namespace SharpTitan.Parallel;

/// <summary>
/// parallelism.fsdp_reshard_after_forward, with torchtitan's meaning, and what each value costs here:
/// <list type="bullet">
/// <item>"always": every block frees its gathered parameters right after its forward. Its backward gathers
/// them again and recomputes the block's forward (the block runs as one custom autograd function, see
/// <see cref="BlockFunction"/>), so parameters stay at 1/N between uses and the block's activations are
/// not kept either (only its input): less memory, one more forward and one more all-gather per block.</item>
/// <item>"never": every block keeps its gathered parameters and its autograd graph from forward until its
/// backward ends (plain autograd, no recompute): full parameters of all blocks live during the step.</item>
/// <item>"default": as torchtitan without pipeline parallelism: every block reshards except the last one,
/// whose backward comes right after its forward, so freeing it would only cost a re-gather.</item>
/// </list>
/// The root unit (embedding, final norm, output) keeps its gathered parameters from the start of forward to the
/// end of backward in every mode, as FSDP2 does for the root. Between steps every rank holds only its shards.
/// </summary>
internal static class ReshardAfterForward
{
    /// <summary>Whether block <paramref name="layer"/> of <paramref name="layers"/> reshards after its forward.</summary>
    public static bool ForBlock(ReshardPolicy policy, int layer, int layers) => policy switch
    {
        ReshardPolicy.Always => true,
        ReshardPolicy.Never => false,
        ReshardPolicy.Default => layer < layers - 1,
        _ => throw new ConfigException($"parallelism.fsdp_reshard_after_forward = {policy}: expected default, always or never"),
    };
}
