using SharpTitan.Config;

namespace SharpTitan.Distributed;

/// <summary>
/// torchtitan's parallel degrees and the device mesh they make: dimensions [pp, dp_replicate, dp_shard, cp, tp],
/// row-major, so tp is innermost (tp peers are adjacent ranks). dp_shard = -1 takes the ranks the others leave.
/// Pure arithmetic; <see cref="DeviceMesh"/> builds the process groups.
/// </summary>
public sealed class ParallelDims
{
    /// <summary>Mesh dimension names, outermost first.</summary>
    public static readonly IReadOnlyList<string> DimNames = ["pp", "dp_replicate", "dp_shard", "cp", "tp"];

    public int DpReplicate { get; }
    public int DpShard { get; }
    public int Cp { get; }
    public int Tp { get; }
    public int Pp { get; }
    public int WorldSize { get; }

    /// <exception cref="ConfigException">A degree is below 1 (dp_shard: not -1 or >= 1), or the product is not the world size.</exception>
    public ParallelDims(int dpReplicate, int dpShard, int cp, int tp, int pp, int worldSize)
    {
        if (worldSize < 1) throw new ConfigException($"parallelism: world size must be >= 1, got {worldSize}");
        RequirePositive("data_parallel_replicate_degree", dpReplicate);
        RequirePositive("context_parallel_degree", cp);
        RequirePositive("tensor_parallel_degree", tp);
        RequirePositive("pipeline_parallel_degree", pp);
        if (dpShard != -1 && dpShard < 1)
            throw new ConfigException($"parallelism.data_parallel_shard_degree must be -1 (the remaining ranks) or >= 1, got {dpShard}");
        int others = dpReplicate * cp * tp * pp;
        if (dpShard == -1)
        {
            if (worldSize % others != 0)
                throw new ConfigException(
                    $"parallelism: data_parallel_shard_degree -1 cannot fill the world: data_parallel_replicate_degree ({dpReplicate}) " +
                    $"x context_parallel_degree ({cp}) x tensor_parallel_degree ({tp}) x pipeline_parallel_degree ({pp}) = {others} " +
                    $"does not divide the world size {worldSize}");
            dpShard = worldSize / others;
        }
        if ((long)others * dpShard != worldSize)
            throw new ConfigException(
                $"parallelism: data_parallel_replicate_degree ({dpReplicate}) x data_parallel_shard_degree ({dpShard}) x " +
                $"context_parallel_degree ({cp}) x tensor_parallel_degree ({tp}) x pipeline_parallel_degree ({pp}) = " +
                $"{(long)others * dpShard}, but the world size is {worldSize}");
        (DpReplicate, DpShard, Cp, Tp, Pp, WorldSize) = (dpReplicate, dpShard, cp, tp, pp, worldSize);
    }

    private static void RequirePositive(string key, int value)
    {
        if (value < 1) throw new ConfigException($"parallelism.{key} must be >= 1, got {value}");
    }

    public bool DpReplicateEnabled => DpReplicate > 1;
    public bool DpShardEnabled => DpShard > 1;
    public bool DpEnabled => DpReplicate > 1 || DpShard > 1;
    public bool CpEnabled => Cp > 1;
    public bool TpEnabled => Tp > 1;
    public bool PpEnabled => Pp > 1;
    /// <summary>FSDP shards over dp_shard x cp (torchtitan), so it is on when either is above 1.</summary>
    public bool FsdpEnabled => DpShard > 1 || Cp > 1;
    /// <summary>Ranks that see the same data: the data loader splits the batch over DpDegree ranks.</summary>
    public int DpDegree => DpReplicate * DpShard;
    /// <summary>cp x tp x pp: divides throughput when reporting tokens/s per device.</summary>
    public int NonDataParallelSize => Cp * Tp * Pp;

    /// <summary>Sizes in <see cref="DimNames"/> order.</summary>
    public IReadOnlyList<int> Shape => [Pp, DpReplicate, DpShard, Cp, Tp];

    /// <summary>The rank's index along each mesh dimension, in <see cref="DimNames"/> order.</summary>
    public int[] Coordinates(int rank)
    {
        RequireRank(rank);
        var shape = Shape;
        var c = new int[shape.Count];
        for (int d = shape.Count - 1; d >= 0; d--)
        {
            c[d] = rank % shape[d];
            rank /= shape[d];
        }
        return c;
    }

    public int Coordinate(int rank, string dim) => Coordinates(rank)[DimIndex(dim)];

    /// <summary>This rank's index among the DpDegree data-parallel ranks (dp_replicate major, dp_shard minor).</summary>
    public int DpRank(int rank)
    {
        var c = Coordinates(rank);
        return c[1] * DpShard + c[2];
    }

    /// <summary>
    /// The group of <paramref name="rank"/> over the given dimensions (the ranks that differ from it only along
    /// them): color numbers the group, key is the rank's index inside it (mesh order). Feed both to Split.
    /// </summary>
    public (int Color, int Key) GroupColorAndKey(int rank, IReadOnlyCollection<string> dims)
    {
        var selected = dims.Select(DimIndex).ToHashSet();
        var c = Coordinates(rank);
        var shape = Shape;
        int color = 0, key = 0;
        for (int d = 0; d < shape.Count; d++)
        {
            if (selected.Contains(d)) key = key * shape[d] + c[d];
            else color = color * shape[d] + c[d];
        }
        return (color, key);
    }

    /// <summary>The world ranks of <paramref name="rank"/>'s group over <paramref name="dims"/>, by group rank.</summary>
    public IReadOnlyList<int> GroupRanks(int rank, IReadOnlyCollection<string> dims)
    {
        var (color, _) = GroupColorAndKey(rank, dims);
        return Enumerable.Range(0, WorldSize)
            .Select(r => (r, g: GroupColorAndKey(r, dims)))
            .Where(x => x.g.Color == color)
            .OrderBy(x => x.g.Key)
            .Select(x => x.r)
            .ToList();
    }

    public override string ToString() =>
        $"pp={Pp} dp_replicate={DpReplicate} dp_shard={DpShard} cp={Cp} tp={Tp} (world {WorldSize})";

    private static int DimIndex(string dim)
    {
        for (int i = 0; i < DimNames.Count; i++) if (DimNames[i] == dim) return i;
        throw new ArgumentException($"unknown mesh dimension '{dim}' (known: {string.Join(", ", DimNames)})");
    }

    private void RequireRank(int rank)
    {
        if (rank < 0 || rank >= WorldSize) throw new ArgumentOutOfRangeException(nameof(rank), $"rank {rank} is outside the world of {WorldSize}");
    }
}
