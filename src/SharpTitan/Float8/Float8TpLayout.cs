using SharpTitan.Distributed;
using static TorchSharp.torch;

namespace SharpTitan.Float8;

/// <summary>The axes of a linear's matmuls: tokens (rows of the input), input features, output features.</summary>
internal enum LinearAxis { Tokens, In, Out }

/// <summary>
/// A float8 linear under tensor parallel: the TP group and which axis of the weight is split across it
/// (column-wise layers split output features, row-wise ones input features). Scales must not depend on the split:
/// an amax over a split axis is all-reduced (max) over the group.
/// </summary>
internal sealed class Float8TpLayout(IProcessGroup group, LinearAxis shardedAxis)
{
    public IProcessGroup Group { get; } = group;
    public LinearAxis ShardedAxis { get; } = shardedAxis;

    /// <summary>From TensorParallel's weight layout: dim 0 (output rows) or dim 1 (input columns).</summary>
    public static Float8TpLayout FromWeightShardDim(IProcessGroup group, int dim) =>
        new(group, dim switch
        {
            0 => LinearAxis.Out,
            1 => LinearAxis.In,
            _ => throw new ArgumentOutOfRangeException(nameof(dim), $"a linear's weight is split along dim 0 or 1, not {dim}"),
        });

    public bool IsSharded(LinearAxis axis) => axis == ShardedAxis;

    /// <summary>In place: the element-wise max over the group (amax tensors are small and contiguous).</summary>
    public void AllReduceMax(Tensor amax)
    {
        if (Group.Size > 1) Group.AllReduce(amax, ReduceOp.Max);
    }
}
