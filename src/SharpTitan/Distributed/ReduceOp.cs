namespace SharpTitan.Distributed;

/// <summary>How all_reduce and reduce_scatter combine the ranks' values.</summary>
public enum ReduceOp
{
    Sum,
    /// <summary>Sum divided by the group size (floating dtypes only).</summary>
    Avg,
    Max,
    Min,
}
