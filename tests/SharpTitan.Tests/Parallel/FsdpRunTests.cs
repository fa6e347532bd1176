using SharpTitan.Tests.Distributed;
using SharpTitan.Tests.Support;

namespace SharpTitan.Tests.Parallel;

/// <summary>
/// What a data-parallel job prints and writes besides its results (FSDP, DDP and HSDP against one process are
/// rows of <see cref="FeatureMatrixTests"/>).
/// </summary>
[Collection(MpiCollection.Name)]
public class FsdpRunTests
{
    [Fact]
    public void RankLogsAndTracesAreWrittenAndOnlyRankZeroPrints()
    {
        var run = new TinyRun
        {
            Ranks = 2, Steps = 2, GlobalBatch = 4, ParamDtype = "bfloat16", LogFreq = 1,
            Overrides = ["--profiling.enable_profiling", "--profiling.profile_freq", "2"],
        };
        var r = run.Start(out var dir);
        Assert.True(r.ExitCode == 0 && !r.TimedOut, r.Describe());
        Assert.Single(r.Stdout.Split('\n'), l => l.Contains("step:     2"));
        for (int rank = 0; rank < 2; rank++)
        {
            var log = File.ReadAllText(Path.Combine(dir, "logs", $"rank_{rank}.log"));
            Assert.Contains($"dp rank {rank} of 2", log);
            Assert.Contains("step:     2", log);
            // Each rank's trace holds the step's phases and FSDP's collectives (on the communication thread too).
            var trace = File.ReadAllText(Path.Combine(dir, "profile_traces", "iteration_2", $"rank{rank}_trace.json"));
            foreach (var name in new[] { "\"forward\"", "\"backward\"", "\"all_gather (async) (dp_shard", "\"reduce_scatter", "\"cat\":\"collective\"" })
                Assert.Contains(name, trace);
        }
    }

    [Fact]
    public void ADegreeProductThatIsNotTheWorldSizeIsAOneLineConfigError()
    {
        var r = new TinyRun { Ranks = 2, Steps = 1, Overrides = ["--parallelism.data_parallel_shard_degree", "4"] }.Start(out _);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("but the world size is 2", r.Output);
    }
}
