using SharpTitan.Cli.Commands;

namespace SharpTitan.Tests.Distributed;

[Collection(MpiCollection.Name)]
public class LaunchCommandTests
{
    [Fact]
    public void LaunchStartsTheRanksOfTheSameProgramAndReturnsTheirExitCode()
    {
        // The worker hands `launch` to SharpTitan's LaunchCommand, which relaunches the worker itself.
        var ok = MpiRun.Start(MpiRun.WorkerPath, ["launch", "-n", "2", "--", "hello"]);
        Assert.True(ok.ExitCode == 0, ok.Describe());
        Assert.Contains("hello from rank 0 of 2 (mpi)", ok.Stdout);
        Assert.Contains("hello from rank 1 of 2 (mpi)", ok.Stdout);

        var failed = MpiRun.Start(MpiRun.WorkerPath, ["launch", "-n", "2", "--", "exit-code", "rank=1", "code=5"]);
        Assert.True(failed.ExitCode == 5, failed.Describe());
    }

    [Fact]
    public void WithoutMpirunLaunchSaysSoInOneLine()
    {
        var r = MpiRun.Start(MpiRun.WorkerPath, ["launch", "-n", "2", "--", "hello"],
            environment: new Dictionary<string, string> { ["MPIRUN"] = "/nonexistent/mpirun" });
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("sharptitan launch: error: mpirun was not found on PATH; install OpenMPI (apt-get install openmpi-bin) or set MPIRUN to its path",
            r.Stderr.Trim());
    }

    [Fact]
    public void OnOneHostTheRanksUseLoopbackAndMayOversubscribe()
    {
        var o = LaunchOptions.Parse(["-n", "4", "--", "train", "--config", "c.toml"]);
        var a = LaunchCommand.MpirunArguments(o, "openmpi", isRoot: true, ["/bin/sharptitan"]);
        Assert.Equal(["-n", "4", "--allow-run-as-root", "--oversubscribe"], a.Take(4));
        Assert.Contains("btl_tcp_if_include", a);
        Assert.Contains("oob_tcp_if_include", a);
        Assert.Contains("mpi_yield_when_idle", a); // waiting threads yield their core (FSDP overlap)
        Assert.Equal(["/bin/sharptitan", "train", "--config", "c.toml"], a.TakeLast(4));
        Assert.DoesNotContain("--allow-run-as-root", LaunchCommand.MpirunArguments(o, "openmpi", isRoot: false, ["x"]));
    }

    [Fact]
    public void AHostfileReplacesTheLoopbackRestriction()
    {
        var hostfile = Path.GetTempFileName();
        try
        {
            var o = LaunchOptions.Parse(["-n", "8", "--hostfile", hostfile, "--", "train"]);
            var a = LaunchCommand.MpirunArguments(o, "openmpi", isRoot: false, ["sharptitan"]);
            Assert.Contains("--hostfile", a);
            Assert.DoesNotContain("btl_tcp_if_include", a);
            Assert.Contains("-f", LaunchCommand.MpirunArguments(o, "mpich", isRoot: false, ["sharptitan"]));
        }
        finally { File.Delete(hostfile); }
    }

    [Theory]
    [InlineData(new[] { "--", "train" }, "-n is required")]
    [InlineData(new[] { "-n", "zero", "--", "train" }, "-n needs a positive number of ranks, got 'zero'")]
    [InlineData(new[] { "-n", "2" }, "give the command the ranks run after '--'")]
    [InlineData(new[] { "-n", "2", "--bogus", "--", "train" }, "unknown option '--bogus'")]
    public void BadCommandLinesAreUsageErrors(string[] args, string message)
    {
        var e = Assert.Throws<UsageException>(() => LaunchOptions.Parse(args));
        Assert.Contains(message, e.Message);
    }
}
