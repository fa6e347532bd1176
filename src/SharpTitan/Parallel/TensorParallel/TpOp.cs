namespace SharpTitan.Parallel;

/// <summary>The collective pairs tensor parallel uses; each names its forward and implies its backward.</summary>
internal enum TpOp
{
    /// <summary>All-gather along dim; backward reduce-scatters (consumers compute partial gradients).</summary>
    AllGather,
    /// <summary>Reduce-scatter along dim; backward all-gathers.</summary>
    ReduceScatter,
    /// <summary>All-reduce (sum of partial results); backward is the identity (the gradient is replicated).</summary>
    AllReduce,
    /// <summary>Identity; backward all-reduces (a replicated input feeding column-wise layers).</summary>
    Copy,
    /// <summary>All-gather along dim whose output every rank uses identically; backward keeps this rank's block.</summary>
    AllGatherReplicated,
}
