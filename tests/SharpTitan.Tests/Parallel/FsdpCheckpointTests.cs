using SharpTitan.Tests.Distributed;
using SharpTitan.Tests.Support;

namespace SharpTitan.Tests.Parallel;

/// <summary>
/// Activation checkpointing under FSDP 2 (real mpirun): a checkpointed block recomputes with its still-gathered
/// parameters ("never" keeps them) or with re-gathered ones ("default"), through FSDP's own block function. The
/// same layout with and without AC runs the same kernels and the same collectives in the same order, so losses
/// and final parameters are bit-identical. (One process with AC against one process without: rows of
/// <see cref="FeatureMatrixTests"/>.)
/// </summary>
[Collection(MpiCollection.Name)]
public class FsdpCheckpointTests
{
    [Theory]
    [InlineData("never", "full", "2")]
    [InlineData("never", "selective", "2")]
    [InlineData("default", "full", "2")]
    public void Fsdp2WithCheckpointingTrainsExactlyAsWithout(string reshard, string mode, string option)
    {
        var plain = new TinyRun { Ranks = 2, Overrides = ["--parallelism.fsdp_reshard_after_forward", reshard] };
        var checkpointed = plain with { Overrides = [.. plain.Overrides, "--activation_checkpoint.mode", mode,
            "--activation_checkpoint.selective_ac_option", option] };
        ResultComparison.AssertSameRun(plain.Train(), checkpointed.Train(), new ResultComparison.Tolerances(0, 0));
    }
}
