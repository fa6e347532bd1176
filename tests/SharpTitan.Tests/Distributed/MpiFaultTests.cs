namespace SharpTitan.Tests.Distributed;

/// <summary>A failing or stuck rank ends the whole job promptly, non-zero, saying which rank and why.</summary>
[Collection(MpiCollection.Name)]
public class MpiFaultTests
{
    private static readonly TimeSpan Prompt = TimeSpan.FromSeconds(30);

    [Fact]
    public void AnExceptionOnOneRankAbortsTheJobWithItsMessage()
    {
        var r = MpiRun.Worker(2, "throw-at-step", "rank=1", "step=3");
        AssertEndedPromptlyWith(r, "rank 1 failed, aborting the job: InvalidOperationException: injected failure at step 3");
    }

    [Fact]
    public void TheWatchdogAbortsACollectiveThatOutlivesTheTimeoutNamingIt()
    {
        var r = MpiRun.Worker(2, "hang", "rank=1", "timeout=2");
        AssertEndedPromptlyWith(r, "rank 0: watchdog: collective all_reduce on group 'world' (2 ranks) did not finish within 2 s (train timeout)");
    }

    /// <summary>The job ended by itself (no test timeout), non-zero, within <see cref="Prompt"/>, printing the message.</summary>
    private static void AssertEndedPromptlyWith(ProcessResult r, string message)
    {
        Assert.False(r.TimedOut, r.Describe());
        Assert.True(r.ExitCode != 0, r.Describe());
        Assert.Contains(message, r.Output);
        Assert.True(r.Elapsed < Prompt, r.Describe());
    }

    [Fact]
    public void ARankExitingWithAnErrorCodeAbortsTheOthers()
    {
        var r = MpiRun.Worker(2, "exit-code", "rank=1", "code=3");
        Assert.False(r.TimedOut, r.Describe());
        Assert.True(r.ExitCode == 3, r.Describe());
        Assert.Contains("rank 1 is exiting with code 3; aborting the job", r.Output);
    }
}
