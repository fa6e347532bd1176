namespace SharpTitan.Config;

/// <summary>parallelism.context_parallel_rotate_method: how the keys and values of the context-parallel group reach each rank (torchtitan's names).</summary>
public enum ContextParallelRotateMethod
{
    /// <summary>All-gather every rank's keys and values, then attend block by block.</summary>
    [ConfigName("allgather")] AllGather,
    /// <summary>Pass the keys and values around the ring, one rank's block per step.</summary>
    [ConfigName("alltoall")] AllToAll,
}
