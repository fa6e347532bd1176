namespace SharpTitan.Data;

/// <summary>What a loader reads and how: the config keys a trainer or evaluator passes in.</summary>
public sealed record DataSpec(string Dataset, string? DatasetPath, string KeyPrefix = "training", TextOptions? Text = null);
