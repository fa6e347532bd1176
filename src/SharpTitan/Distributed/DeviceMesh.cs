namespace SharpTitan.Distributed;

/// <summary>
/// The process groups of a <see cref="ParallelDims"/> mesh for this rank: one per dimension and the flattened
/// combinations torchtitan's transforms use. Every group is built (collectively, in a fixed order) even when its
/// size is 1, so callers never branch on whether a dimension exists.
/// </summary>
public sealed class DeviceMesh : IDisposable
{
    /// <summary>Group name -> mesh dimensions it spans, in build order.</summary>
    public static readonly IReadOnlyList<(string Name, string[] Dims)> GroupDims =
    [
        ("pp", ["pp"]),
        ("dp_replicate", ["dp_replicate"]),
        ("dp_shard", ["dp_shard"]),
        ("cp", ["cp"]),
        ("tp", ["tp"]),
        ("dp", ["dp_replicate", "dp_shard"]),        // data loading, DDP/HSDP gradient averaging
        ("dp_shard_cp", ["dp_shard", "cp"]),         // FSDP shards parameters over this
        ("dp_cp", ["dp_replicate", "dp_shard", "cp"]), // loss averaging, global gradient norm
    ];

    private readonly Dictionary<string, IProcessGroup> _groups = new();

    public ParallelDims Dims { get; }
    public IProcessGroup World { get; }

    public DeviceMesh(ParallelDims dims, IProcessGroup world)
    {
        if (world.Size != dims.WorldSize)
            throw new ArgumentException($"device mesh: the parallel dims are for {dims.WorldSize} ranks but the world has {world.Size}");
        Dims = dims;
        World = world;
        foreach (var (name, groupDims) in GroupDims)
        {
            var (color, key) = dims.GroupColorAndKey(world.Rank, groupDims);
            _groups[name] = world.Split(color, key, name);
        }
    }

    /// <summary>The group by name (see <see cref="GroupDims"/>).</summary>
    public IProcessGroup this[string name] =>
        _groups.TryGetValue(name, out var g) ? g
            : throw new ArgumentException($"device mesh has no group '{name}' (it has {string.Join(", ", _groups.Keys)})");

    public IProcessGroup Pp => _groups["pp"];
    public IProcessGroup DpReplicate => _groups["dp_replicate"];
    public IProcessGroup DpShard => _groups["dp_shard"];
    public IProcessGroup Cp => _groups["cp"];
    public IProcessGroup Tp => _groups["tp"];
    public IProcessGroup Dp => _groups["dp"];
    public IProcessGroup DpShardCp => _groups["dp_shard_cp"];
    public IProcessGroup DpCp => _groups["dp_cp"];

    /// <summary>For the data loader: which of the <see cref="DpDegree"/> data shards this rank reads.</summary>
    public int DpRank => Dp.Rank;
    public int DpDegree => Dp.Size;

    public void Dispose()
    {
        foreach (var g in _groups.Values) g.Dispose();
        _groups.Clear();
    }
}
