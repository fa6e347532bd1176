using SharpTitan.Checkpoint;
using SharpTitan.Config;
using SharpTitan.Inference;
using SharpTitan.Models.Llama3;

namespace SharpTitan.Tests.Models;

/// <summary>
/// Issue 15 item 8: `generate --max-new-tokens 100000000` sized the rotary tables to prompt + new tokens and was
/// killed after 24 GB. The length a model is built with is now checked first, against the flavor's context.
/// </summary>
public class GenerationLimitTests
{
    private static CheckpointModel Tiny(int trainedSeqLen)
    {
        var config = new JobConfig();
        config.Model.Flavor = "tiny";
        return new CheckpointModel("unused", config, ModelFlavors.Llama3["tiny"] with { MaxSeqLen = trainedSeqLen });
    }

    [Fact]
    public void AHugeMaxNewTokensIsAOneLineErrorBeforeAnyAllocation()
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<ConfigException>(() => TextGenerator.ContextLength(Tiny(64), 5, 100_000_000));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20, "the check allocated more than 1 MB");
        Assert.DoesNotContain("\n", e.Message);
        Assert.Contains("131,072", e.Message);                  // the tiny flavor's context (max_seq_len)
        Assert.Contains("at most 131,067 new tokens", e.Message);
        Assert.Contains("model.flavor \"tiny\"", e.Message);
        Assert.Throws<ConfigException>(() => TextGenerator.ContextLength(Tiny(64), 5, int.MaxValue)); // no overflow
        Assert.Throws<ConfigException>(() => TextGenerator.ContextLength(Tiny(64), 131_072, 0));      // the prompt alone
    }

    [Fact]
    public void TheContextIsThePromptPlusNewTokensAtLeastTheTrainedLength()
    {
        Assert.Equal(64, TextGenerator.ContextLength(Tiny(64), 5, 10));
        Assert.Equal(205, TextGenerator.ContextLength(Tiny(64), 5, 200));
        Assert.Equal(131_072, TextGenerator.ContextLength(Tiny(64), 5, 131_067));
        Assert.Equal(100, TextGenerator.ContextLength(20, 80, 16, 100));
        Assert.Contains("at most 80", Assert.Throws<ConfigException>(() => TextGenerator.ContextLength(20, 81, 16, 100)).Message);
    }
}
