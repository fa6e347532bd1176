using SharpTitan.Models.Llama3;
using SharpTitan.Tests.Support;

namespace SharpTitan.Tests.Models;

public class ModelArgsTests
{
    [Theory]
    [InlineData("8B", 8_030_261_248L)]
    [InlineData("70B", 70_553_706_496L)]
    public void ParameterCountsMatchLlama3(string flavor, long expected) =>
        Assert.Equal(expected, ModelFlavors.Llama3[flavor].ParameterCount());

    [Theory]
    [InlineData("debugmodel", 768)]
    [InlineData("1B", 8192)]
    [InlineData("3B", 8192)]
    [InlineData("8B", 14336)]
    [InlineData("70B", 28672)]
    [InlineData("405B", 53248)]
    public void FeedForwardHiddenSizesMatchLlama3(string flavor, long hidden) =>
        Assert.Equal(hidden, ModelFlavors.Llama3[flavor].FfnHiddenDim);

    [Fact]
    public void FlopsPerTokenIsSixNPlusAttention()
    {
        var a = ModelFlavors.Llama3["8B"];
        double expected = 6.0 * (8_030_261_248L - 128256L * 4096) + 12.0 * 32 * 4096 * 8192;
        Assert.Equal(expected, a.FlopsPerToken(8192));
    }

    [Theory]
    [InlineData("tiny", false)]
    [InlineData("tiny", true)]
    public void CountFromShapeEqualsAllocatedModel(string flavor, bool tied)
    {
        TestSetup.Torch();
        var args = ModelFlavors.Llama3[flavor] with { TieEmbeddings = tied, MaxSeqLen = 16 };
        using var model = new Transformer(args);
        long allocated = model.parameters().Sum(p => p.numel());
        Assert.Equal(args.ParameterCount(), allocated);
    }

    [Fact]
    public void HeadsThatDoNotDivideAreRejected()
    {
        var bad = ModelFlavors.Llama3["tiny"] with { NHeads = 4, NKvHeads = 3 };
        var e = Assert.Throws<ArgumentException>(bad.Validate);
        Assert.Contains("n_kv_heads", e.Message);
    }
}
