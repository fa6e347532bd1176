using SharpTitan.Cli.Commands;

namespace SharpTitan.Tests.Distributed;

/// <summary>What the launcher lets through of mpirun's stderr when a job ends.</summary>
public class MpirunNoticesTests
{
    private static readonly string Rule = new('-', 74);

    private static string Pass(bool explained, params string[] lines)
    {
        var output = new StringWriter();
        var notices = new MpirunNotices(output);
        foreach (var line in lines) notices.Line(line);
        notices.Finish(explained);
        return output.ToString();
    }

    [Fact]
    public void RuntimeLogLinesAndFramedNoticesAreDroppedWhenTheRanksExplainedTheEnd()
    {
        // Seen on CI: a job rank 0 aborted quietly after a config error, and mpirun's teardown logged this.
        string[] lines = ["sharptitan train: error: bad config", "[vm:22439] [[15193,0],0] ORTE_ERROR_LOG: Out of resource in file util/show_help.c at line 501",
            Rule, "MPI_ABORT was invoked on rank 0", Rule, "mpirun: Forwarding signal 10 to job"];
        Assert.Equal("sharptitan train: error: bad config", Pass(explained: true, lines).Trim());
        var unexplained = Pass(explained: false, lines);
        Assert.Contains("ORTE_ERROR_LOG", unexplained);
        Assert.Contains("MPI_ABORT was invoked on rank 0", unexplained);
        Assert.DoesNotContain("Forwarding signal", unexplained);
    }

    [Fact]
    public void OrdinaryLinesPassAtOnce()
    {
        Assert.Equal("[rank 1] hello\nstep: 1", Pass(explained: true, "[rank 1] hello", "step: 1").Trim().ReplaceLineEndings("\n"));
    }
}
