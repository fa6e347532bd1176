using System.Reflection;
using SharpTitan.Config;
using SharpTitan.Float8;
using SharpTitan.Kernels;
using SharpTitan.Models.Llama3;
using SharpTitan.Native;
using SharpTitan.Parallel;
using SharpTitan.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace SharpTitan.Tests.Kernels;

/// <summary>
/// Our custom autograd functions leave no output-sized tensor on their graph nodes between forward and backward
/// (TorchSharp's node keeps an <c>empty_like</c> of each output: reserved memory on CUDA), and an undefined output
/// gradient still reaches backward as zeros of the output's shape.
/// </summary>
public class LeanFunctionTests
{
    private static readonly ModelArgs Args = new() { Dim = 64, NLayers = 2, NHeads = 4, NKvHeads = 2, VocabSize = 256, MultipleOf = 32, MaxSeqLen = 16 };

    public LeanFunctionTests() => TestSetup.Torch();

    /// <summary>Every graph node TorchSharp has alive now (its registry of custom-function nodes).</summary>
    private static List<object> AliveNodes()
    {
        var node = typeof(autograd).GetNestedType("Node", BindingFlags.NonPublic)!;
        var list = (System.Collections.IList)node.GetField("AliveNodes", BindingFlags.NonPublic | BindingFlags.Static)!.GetValue(null)!;
        lock (list) return list.Cast<object>().ToList();
    }

    private static List<Tensor> Templates(object node) =>
        (node.GetType().GetField("_outputCache", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(node) as List<Tensor?>)
        ?.OfType<Tensor>().ToList() ?? [];

    [Theory]
    [InlineData("full", "2", true)]
    [InlineData("selective", "op", false)]
    public void NodesKeepNoOutputSizedTensorUntilBackward(string mode, string option, bool float8)
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        using var model = new Transformer(Args);
        model.InitWeights();
        FusedRmsNorm.Install(model);
        if (float8)
            foreach (var (name, module) in model.named_modules())
                if (module is LinearLayer linear && name.StartsWith("layers", StringComparison.Ordinal))
                    linear.Kernel = new Float8LinearKernel(name, Float8Recipe.Parse("tensorwise"), Float8MatmulMode.Emulated, null);
        var plan = ActivationCheckpointPlan.For(new ActivationCheckpointSection
            { Mode = ConfigEnum.Parse<ActivationCheckpointMode>(mode), SelectiveAcOption = option }, Args.NLayers);
        using var ac = ActivationCheckpointing.Apply(model, plan, dataParallel: false);
        var before = AliveNodes().ToHashSet(ReferenceEqualityComparer.Instance);

        var logits = model.forward(randint(0, Args.VocabSize, [2, 16]));
        var templates = AliveNodes().Where(n => !before.Contains(n)).SelectMany(Templates).ToList();

        // Full AC: a block node per layer (its fused norms and float8 linears ran under no_grad) and the final norm;
        // selective op: the norms and the replayed matmuls and attention of every layer.
        Assert.True(templates.Count >= Args.NLayers + 1, $"only {templates.Count} templates: the scan sees no nodes");
        foreach (var t in templates)
        {
            Assert.True(t.numel() > 1, "a template keeps its output's shape");
            Assert.All(t.stride(), s => Assert.Equal(0, s)); // one element, expanded: nothing output-sized
        }
        var loss = F.cross_entropy(logits.flatten(0, 1), randint(0, Args.VocabSize, [2 * 16]));
        loss.backward();
        Assert.All(model.parameters(), p => Assert.True(p.grad is { } g && g.abs().sum().item<float>() > 0));
    }

    /// <summary>y = 2x; backward records what it was given.</summary>
    private sealed class Doubling : LeanFunction<Doubling>
    {
        public static Tensor? Received;
        public override string Name => "TestDoubling";
        protected override Tensor Forward(autograd.AutogradContext ctx, object[] vars) => ((Tensor)vars[0]) * 2;

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
        {
            Received = gradOutput.clone().DetachFromDisposeScope();
            return [gradOutput * 2];
        }
    }

    /// <summary>y = x + 1 whose backward gives its input no gradient (undefined).</summary>
    private sealed class NoGradient : LeanFunction<NoGradient>
    {
        public override string Name => "TestNoGradient";
        protected override Tensor Forward(autograd.AutogradContext ctx, object[] vars) => ((Tensor)vars[0]) + 1;
        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput) => [null!];
    }

    [Fact]
    public void AnUndefinedOutputGradientArrivesAsZerosOfTheOutputsShape()
    {
        using var scope = NewDisposeScope();
        var x = randn(3, 5, dtype: ScalarType.Float64).requires_grad_(true);
        var y = Doubling.Apply(x);
        var z = NoGradient.Apply(y);
        Doubling.Received = null;
        z.sum().backward();

        Assert.NotNull(Doubling.Received);
        Assert.Equal([3L, 5L], Doubling.Received!.shape);
        Assert.Equal(ScalarType.Float64, Doubling.Received.dtype);
        Assert.Equal(0.0, Doubling.Received.abs().sum().item<double>());
        Assert.Equal(0.0, x.grad!.abs().sum().item<double>());
        Doubling.Received.Dispose();
    }
}
