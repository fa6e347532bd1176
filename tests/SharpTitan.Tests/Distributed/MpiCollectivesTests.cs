namespace SharpTitan.Tests.Distributed;

/// <summary>Every collective and dtype on real ranks; the worker checks each result against closed forms.</summary>
[Collection(MpiCollection.Name)]
public class MpiCollectivesTests
{
    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void EveryCollectiveAndDtypeMatchesHandComputedValues(int ranks)
    {
        var r = MpiRun.Worker(ranks, "collectives");
        Assert.True(r.ExitCode == 0, r.Describe());
        for (int rank = 0; rank < ranks; rank++) Assert.Contains($"rank {rank}/{ranks}: collectives ok", r.Stdout);
    }

    /// <summary>Ranks sharing a GPU run MPI through host copies: the same suite, with every tensor staged.</summary>
    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void CollectivesStagedThroughHostCopiesMatchHandComputedValues(int ranks)
    {
        var r = MpiRun.Worker(ranks, "staged");
        Assert.True(r.ExitCode == 0, r.Describe());
        Assert.Equal(ranks, CountOf(r.Stdout, ": staged ok"));
    }

    [Fact]
    public void SubgroupsFromSplitRunCollectivesIndependently()
    {
        var r = MpiRun.Worker(4, "subgroups");
        Assert.True(r.ExitCode == 0, r.Describe());
        Assert.Equal(4, CountOf(r.Stdout, ": subgroups ok"));
    }

    [Fact]
    public void TransfersOverTheCountLimitAreChunked()
    {
        var r = MpiRun.Worker(2, "chunked");
        Assert.True(r.ExitCode == 0, r.Describe());
        Assert.Equal(2, CountOf(r.Stdout, ": chunked ok"));
    }

    [Fact]
    public void EveryDeviceMeshOfFourRanksHasTheGroupsParallelDimsPredicts()
    {
        var r = MpiRun.Worker(4, "mesh");
        Assert.True(r.ExitCode == 0, r.Describe());
        Assert.Contains("checked 15 meshes of 4 ranks", r.Stdout);
    }

    private static int CountOf(string text, string part) => text.Split('\n').Count(l => l.Contains(part));
}
