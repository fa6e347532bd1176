using SharpTitan.Config;
using SharpTitan.Models.Llama3;
using SharpTitan.Parallel;
using SharpTitan.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace SharpTitan.Tests.Parallel;

/// <summary>
/// One forward/backward of a 4-layer model (grouped-query attention) with each activation checkpointing mode gives
/// the gradients of the plain model. Full and selective-layer recompute run the same kernels on the same input
/// with the same thread count, so their gradients are bit-identical. Selective op computes the linears' backward
/// itself (the same 2-d mm calls autograd makes) and attention's from its kept graph: measured bit-identical too
/// in fp32 and bf16 on this machine; the bound allows 1e-6 of the largest gradient for other kernels.
/// </summary>
public class ActivationCheckpointTests
{
    private static readonly ModelArgs Args = new() { Dim = 64, NLayers = 4, NHeads = 4, NKvHeads = 2, VocabSize = 256, MultipleOf = 32, MaxSeqLen = 32 };

    public ActivationCheckpointTests() => TestSetup.Torch();

    private static ActivationCheckpointPlan Plan(string mode, string option = "2") =>
        ActivationCheckpointPlan.For(new ActivationCheckpointSection { Mode = ConfigEnum.Parse<ActivationCheckpointMode>(mode), SelectiveAcOption = option }, Args.NLayers);

    /// <summary>Gradients by parameter name after one step; <paramref name="extra"/> hooks into the model first.</summary>
    internal static Dictionary<string, float[]> Gradients(ActivationCheckpointPlan plan, ScalarType dtype = ScalarType.Float32, Action<Transformer>? extra = null)
    {
        using var scope = NewDisposeScope();
        manual_seed(11);
        using var model = new Transformer(Args);
        model.InitWeights();
        if (dtype != ScalarType.Float32) model.to(dtype);
        extra?.Invoke(model);
        using var ac = ActivationCheckpointing.Apply(model, plan, dataParallel: false);
        var tokens = randint(0, Args.VocabSize, [2, 32]);
        var labels = randint(0, Args.VocabSize, [2 * 32]);
        var loss = F.cross_entropy(model.forward(tokens).flatten(0, 1).to(ScalarType.Float32), labels);
        loss.backward();
        return model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.to(ScalarType.Float32).data<float>().ToArray());
    }

    /// <summary>Per tensor, max |diff| within <paramref name="relative"/> x max |expected grad| (0 = bit for bit); no gradient may be all zero.</summary>
    internal static void AssertEqual(Dictionary<string, float[]> expected, Dictionary<string, float[]> actual, double relative = 0)
    {
        foreach (var (name, e) in expected) Assert.True(e.Any(x => x != 0), $"{name}: zero gradient");
        ResultComparison.AssertSameParameters(expected, actual, relative);
    }

    [Theory]
    [InlineData("full", "2")]
    [InlineData("selective", "1")]
    [InlineData("selective", "2")]
    [InlineData("selective", "3")]
    public void CheckpointedGradientsEqualPlainGradientsExactly(string mode, string option) =>
        AssertEqual(Gradients(Plan("none")), Gradients(Plan(mode, option)));

    [Theory]
    [InlineData("full", "2")]
    [InlineData("selective", "op")]
    public void Bfloat16CheckpointedGradientsEqualPlainGradients(string mode, string option) =>
        AssertEqual(Gradients(Plan("none"), ScalarType.BFloat16), Gradients(Plan(mode, option), ScalarType.BFloat16), mode == "full" ? 0 : 1e-6);

    [Fact]
    public void SelectiveOpGradientsEqualPlainGradients() =>
        AssertEqual(Gradients(Plan("none")), Gradients(Plan("selective", "op")), 1e-6);

    /// <summary>Noise drawn inside every block (as dropout would) is drawn again identically by the recompute.</summary>
    [Fact]
    public void RecomputeReplaysTheRandomState()
    {
        void Noise(Transformer m)
        {
            foreach (var b in m.layers)
                b.feed_forward.register_forward_hook((_, _, y) => y + 0.1 * randn_like(y));
        }
        AssertEqual(Gradients(Plan("none"), extra: Noise), Gradients(Plan("full"), extra: Noise));
    }

    /// <summary>Full AC runs each block's matmuls twice; selective op runs them once (plus one-token stand-ins).</summary>
    [Theory]
    [InlineData("none", "2", 1)]
    [InlineData("full", "2", 2)]
    [InlineData("selective", "op", 1)]
    public void MatmulsRunOnceOrTwiceOnFullInputs(string mode, string option, int expected)
    {
        int fullSize = 0, norms = 0;
        void Count(Transformer m)
        {
            foreach (var b in m.layers)
            {
                b.feed_forward.w1.register_forward_hook((_, u, y) => { if (u.shape[1] == 32) fullSize++; return y; });
                b.ffn_norm.register_forward_hook((_, _, y) => { norms++; return y; });
            }
        }
        Gradients(Plan(mode, option), extra: Count);
        Assert.Equal(expected * Args.NLayers, fullSize);
        Assert.Equal((mode == "none" ? 1 : 2) * Args.NLayers, norms); // cheap ops are recomputed in both AC modes
    }

    [Fact]
    public void SelectiveLayerChoosesEveryNthBlockCountedFromOne()
    {
        Assert.Equal([false, true, false, true], Plan("selective", "2").FullLayers);
        Assert.Equal([false, false, true, false], Plan("selective", "3").FullLayers);
        Assert.All(Plan("full").FullLayers, Assert.True);
        Assert.False(Plan("none").Any);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("x")]
    public void BadSelectiveOptionNamesTheKey(string option)
    {
        var e = Assert.Throws<ConfigException>(() => Plan("selective", option));
        Assert.Contains("activation_checkpoint.selective_ac_option", e.Message);
    }

    [Fact]
    public void UnderDataParallelismFsdpRecomputesAndNothingIsInstalled()
    {
        using var model = new Transformer(Args);
        Assert.Null(ActivationCheckpointing.Apply(model, Plan("full"), dataParallel: true));
    }
}
