namespace SharpTitan.Parallel;

/// <summary>Settings of the tensor-parallel transform (parallelism.* keys).</summary>
internal sealed record TensorParallelOptions(bool SequenceParallel, bool LossParallel, bool AsyncTp);
