using SharpTitan.Config;
using SharpTitan.Distributed;

namespace SharpTitan.Tests.Distributed;

public class ParallelDimsTests
{
    [Fact]
    public void ShardDegreeMinusOneTakesTheRemainingRanks()
    {
        var d = new ParallelDims(dpReplicate: 2, dpShard: -1, cp: 1, tp: 2, pp: 1, worldSize: 8);
        Assert.Equal(2, d.DpShard);
        Assert.Equal(4, d.DpDegree);
        Assert.Equal(2, d.NonDataParallelSize);
        Assert.True(d.FsdpEnabled && d.DpReplicateEnabled && d.TpEnabled && !d.PpEnabled && !d.CpEnabled);
    }

    [Fact]
    public void OneRankHasEveryDegreeOne()
    {
        var d = new ParallelDims(1, -1, 1, 1, 1, worldSize: 1);
        Assert.Equal(1, d.DpShard);
        Assert.False(d.DpEnabled || d.FsdpEnabled);
        Assert.Equal([0, 0, 0, 0, 0], d.Coordinates(0));
    }

    [Fact]
    public void AProductOtherThanTheWorldSizeIsAOneLineConfigError()
    {
        var e = Assert.Throws<ConfigException>(() => new ParallelDims(1, 3, 1, 2, 1, worldSize: 4));
        Assert.Equal("parallelism: data_parallel_replicate_degree (1) x data_parallel_shard_degree (3) x " +
                     "context_parallel_degree (1) x tensor_parallel_degree (2) x pipeline_parallel_degree (1) = 6, " +
                     "but the world size is 4", e.Message);
    }

    [Fact]
    public void MinusOneThatCannotFillTheWorldIsAConfigError()
    {
        var e = Assert.Throws<ConfigException>(() => new ParallelDims(1, -1, 1, 3, 1, worldSize: 4));
        Assert.Contains("tensor_parallel_degree (3)", e.Message);
        Assert.Contains("does not divide the world size 4", e.Message);
    }

    [Theory]
    [InlineData(0, 1, 1, 1, 1, "data_parallel_replicate_degree must be >= 1, got 0")]
    [InlineData(1, 0, 1, 1, 1, "data_parallel_shard_degree must be -1 (the remaining ranks) or >= 1, got 0")]
    [InlineData(1, -2, 1, 1, 1, "data_parallel_shard_degree must be -1 (the remaining ranks) or >= 1, got -2")]
    [InlineData(1, 1, 0, 1, 1, "context_parallel_degree must be >= 1, got 0")]
    [InlineData(1, 1, 1, -1, 1, "tensor_parallel_degree must be >= 1, got -1")]
    [InlineData(1, 1, 1, 1, 0, "pipeline_parallel_degree must be >= 1, got 0")]
    public void DegreesBelowOneAreRejectedByName(int rep, int shard, int cp, int tp, int pp, string message)
    {
        var e = Assert.Throws<ConfigException>(() => new ParallelDims(rep, shard, cp, tp, pp, worldSize: 1));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void TensorParallelIsInnermostSoItsPeersAreAdjacentRanks()
    {
        // 8 ranks: pp 1, dp_replicate 2, dp_shard 2, cp 1, tp 2.
        var d = new ParallelDims(2, 2, 1, 2, 1, worldSize: 8);
        Assert.Equal([0, 0, 1, 0, 1], d.Coordinates(3));
        Assert.Equal([0, 1, 0, 0, 0], d.Coordinates(4));
        Assert.Equal([2, 3], d.GroupRanks(3, ["tp"]));
        Assert.Equal([1, 3], d.GroupRanks(3, ["dp_shard"]));
        Assert.Equal([3, 7], d.GroupRanks(3, ["dp_replicate"]));
        Assert.Equal([1, 3, 5, 7], d.GroupRanks(3, ["dp_replicate", "dp_shard"]));
        Assert.Equal(1, d.DpRank(3));
        Assert.Equal(3, d.DpRank(7));
        Assert.Equal(2, d.DpRank(4));
    }

    [Fact]
    public void GroupKeysNumberRanksInsideTheirGroupAndColorsSeparateGroups()
    {
        var d = new ParallelDims(1, 2, 1, 2, 1, worldSize: 4);
        var tpGroups = Enumerable.Range(0, 4).Select(r => d.GroupColorAndKey(r, ["tp"])).ToList();
        Assert.Equal([(0, 0), (0, 1), (1, 0), (1, 1)], tpGroups);
        var shardGroups = Enumerable.Range(0, 4).Select(r => d.GroupColorAndKey(r, ["dp_shard"])).ToList();
        Assert.Equal([(0, 0), (1, 0), (0, 1), (1, 1)], shardGroups);
    }

    [Fact]
    public void UnknownDimensionAndRankOutsideTheWorldAreRejected()
    {
        var d = new ParallelDims(1, -1, 1, 1, 1, worldSize: 2);
        Assert.Contains("unknown mesh dimension 'ep'", Assert.Throws<ArgumentException>(() => d.GroupRanks(0, ["ep"])).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => d.Coordinates(2));
    }
}
