using SharpTitan.Distributed;
using SharpTitan.Native;
using TorchSharp;

namespace SharpTitan.Tests.Distributed;

public class SingleProcessGroupTests
{
    public SingleProcessGroupTests() => TorchRuntime.EnsureLoaded();

    [Fact]
    public void WithoutMpirunTheWorldIsOneRankAndMpiIsNotLoaded()
    {
        Assert.False(DistributedRuntime.LaunchedByMpi);
        var world = DistributedRuntime.Initialize();
        Assert.Equal(("single", 0, 1), (world.Backend, world.Rank, world.Size));
        Assert.Null(DistributedRuntime.Watchdog);
        using var mesh = new DeviceMesh(new ParallelDims(1, -1, 1, 1, 1, 1), world);
        Assert.Equal((0, 1), (mesh.DpRank, mesh.DpDegree));
    }

    [Fact]
    public void CollectivesOfOneRankAreIdentitiesWithTheSameChecks()
    {
        using var scope = torch.NewDisposeScope();
        var g = new SingleProcessGroup();
        var t = torch.tensor(new float[] { 1, 2, 3 }).to(torch.ScalarType.BFloat16);
        g.AllReduce(t, ReduceOp.Avg);
        Assert.Equal(new float[] { 1, 2, 3 }, t.to(torch.ScalarType.Float32).data<float>().ToArray());

        var outp = torch.zeros(3);
        g.AllGatherAsync(outp, torch.tensor(new float[] { 4, 5, 6 })).Wait();
        Assert.Equal(new float[] { 4, 5, 6 }, outp.data<float>().ToArray());

        g.ReduceScatter(outp, torch.tensor(new float[] { 7, 8, 9 }));
        Assert.Equal(new float[] { 7, 8, 9 }, outp.data<float>().ToArray());

        Assert.Contains("all_gather: output has 4 elements but needs 3",
            Assert.Throws<ArgumentException>(() => g.AllGather(torch.zeros(4), torch.zeros(3))).Message);
        Assert.Throws<InvalidOperationException>(() => g.Send(t, 0));
        Assert.Throws<InvalidOperationException>(() => g.SendAsync(t, 0));
        Assert.Throws<InvalidOperationException>(() => g.RecvAsync(t, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => g.Broadcast(t, 1));
    }
}
