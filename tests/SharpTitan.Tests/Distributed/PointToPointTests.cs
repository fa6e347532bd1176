namespace SharpTitan.Tests.Distributed;

/// <summary>Non-blocking send and receive (what a pipeline schedule moves activations with) on real ranks.</summary>
[Collection(MpiCollection.Name)]
public class PointToPointTests
{
    [Theory]
    [InlineData(2, false)]
    [InlineData(3, true)]
    public void NonBlockingSendsAndReceivesArriveInOrderPerTag(int ranks, bool chunked)
    {
        var r = chunked ? MpiRun.Worker(ranks, "p2p", "chunked") : MpiRun.Worker(ranks, "p2p");
        Assert.True(r.ExitCode == 0, r.Describe());
        Assert.Equal(ranks, r.Stdout.Split('\n').Count(l => l.Contains(": p2p ok")));
    }
}
