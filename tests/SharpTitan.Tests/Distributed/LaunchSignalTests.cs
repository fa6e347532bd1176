using SharpTitan.Checkpoint;
using SharpTitan.Tests.Support;
using SharpTitan.Tests.Training;
using Xunit.Abstractions;

namespace SharpTitan.Tests.Distributed;

/// <summary>
/// Issue 15 items 6 and 10 through `sharptitan launch`: a signal to the launcher reaches every rank and no rank
/// outlives it; an input error of a multi-rank job is one line.
/// </summary>
[Collection(MpiCollection.Name)]
public class LaunchSignalTests(ITestOutputHelper output)
{
    [Fact]
    public void SigtermToTheLauncherStopsEveryRankAfterTheSameSavedStep()
    {
        var dump = TestSetup.TempDir("launch-sigterm");
        using var launcher = new RunningProcess(MpiRun.CliPath, ["launch", "-n", "2", "--", .. GracefulStopTests.LongRun(2).CommandLine(dump)]);
        try
        {
            var rank1Log = Path.Combine(dump, "logs", "rank_1.log");
            Assert.True(launcher.WaitUntil(() => File.Exists(rank1Log) && File.ReadAllText(rank1Log).Contains("step:     2 "),
                TimeSpan.FromSeconds(180)), launcher.Describe());
            var ranks = RunningProcess.ProcessesNaming(dump).Where(pid => pid != launcher.Id).ToList();
            Assert.True(ranks.Count >= 3, $"expected mpirun and 2 ranks, found {ranks.Count}"); // mpirun + 2 ranks
            RunningProcess.Signal(launcher.Id, "TERM");
            var (code, elapsed) = launcher.WaitForExit(TimeSpan.FromSeconds(60));
            output.WriteLine($"launch -n 2: SIGTERM to exit {elapsed.TotalSeconds:F2} s");
            Assert.True(code == 75, $"exit {code}: {launcher.Describe()}");
            Assert.Empty(RunningProcess.ProcessesNaming(dump)); // no rank (nor mpirun) outlives the launcher

            var step = CheckpointFolder.CompleteSteps(Path.Combine(dump, "checkpoint"));
            int saved = Assert.Single(step);
            Assert.False(CheckpointMetadata.Read(Path.Combine(dump, "checkpoint", $"step-{saved}", CheckpointMetadata.FileName)).ModelOnly);
            foreach (int r in new[] { 0, 1 })
                Assert.Contains($"stopping after step {saved} of", File.ReadAllText(Path.Combine(dump, "logs", $"rank_{r}.log")));
            Assert.DoesNotContain("mpirun detected", launcher.Output); // the ranks said why; mpirun's notice is left out
        }
        finally { RunningProcess.KillAll(dump); }
    }

    /// <summary>A config error found before MPI starts (an unknown key) and one found after (the degrees do not fit the world).</summary>
    [Theory]
    [InlineData("--training.stepz=3", "unknown key 'training.stepz'")]
    [InlineData("--parallelism.data_parallel_shard_degree=4", "but the world size is 2")]
    public void AMultiRankConfigErrorIsOneLineFromRankZero(string bad, string message)
    {
        var dump = TestSetup.TempDir("launch-config");
        var r = MpiRun.Start(MpiRun.CliPath, ["launch", "-n", "2", "--", .. new TinyRun { Ranks = 2, Steps = 1, Overrides = [bad] }.CommandLine(dump)]);
        output.WriteLine($"{bad}: exit after {r.Elapsed.TotalSeconds:F2} s");
        Assert.True(r.ExitCode == 2, r.Describe());
        var line = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("sharptitan train: error: ", line);
        Assert.Contains(message, line);
        Assert.DoesNotContain("MPI_ABORT", r.Output);
    }
}
