namespace SharpTitan.Inference;

/// <summary>Sampling settings: temperature 0 is greedy (argmax); top-k 0 keeps the whole vocabulary.</summary>
public sealed record SamplingOptions(double Temperature = 1.0, int TopK = 0, long Seed = 0, int? EosId = null);
