using static TorchSharp.torch;

namespace SharpTitan.Parallel;

/// <summary>Runs a block's backward for <see cref="BlockFunction"/> (FSDP, or activation checkpointing alone).</summary>
internal interface IBlockOwner
{
    /// <summary>The gradient of the block's input; <paramref name="savedInput"/> is set when the block recomputes.</summary>
    Tensor BlockBackward(BlockCall call, Tensor? savedInput, Tensor gradOutput);
}
