namespace SharpTitan.Training;

/// <summary>What one optimizer step produced: the loss averaged over its micro-batches, the gradient norm, the lr.</summary>
public sealed record StepResult(int Step, double Loss, double GradNorm, double Lr);
