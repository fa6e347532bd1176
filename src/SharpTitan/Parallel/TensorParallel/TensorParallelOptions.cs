namespace SharpTitan.Parallel;

/// <summary>Settings of the tensor-parallel transform (parallelism.* keys).</summary>
public sealed record TensorParallelOptions(bool SequenceParallel, bool LossParallel, bool AsyncTp);
