namespace SharpTitan.Parallel;

/// <summary>One shard's place: the unit's parameters in its flat buffer, and the flat range [Start, Start + Length) this rank holds.</summary>
internal sealed record FsdpShardLayout(IReadOnlyList<(string Name, long[] Shape, long Offset, long Numel)> Parameters, long Start, long Length);
