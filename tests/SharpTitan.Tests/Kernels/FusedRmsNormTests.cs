using SharpTitan.Kernels;
using SharpTitan.Models.Llama3;
using SharpTitan.Native;
using SharpTitan.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace SharpTitan.Tests.Kernels;

/// <summary>The fused RMSNorm against the plain one: the same forward bit for bit, the same gradients within rounding.</summary>
public class FusedRmsNormTests
{
    public FusedRmsNormTests() => TestSetup.Torch();

    public static TheoryData<string, string, double> Dtypes => new()
    {
        // x dtype, weight dtype, gradient tolerance relative to the gradient's largest entry
        { "float32", "float32", 2e-6 },
        { "bfloat16", "bfloat16", 2e-2 },  // master_copy / full bf16: both in bf16
        { "bfloat16", "float32", 2e-2 },   // autocast: bf16 activations, fp32 weight
    };

    [Theory]
    [MemberData(nameof(Dtypes))]
    public void MatchesThePlainNorm(string xDtype, string wDtype, double tolerance)
    {
        using var scope = NewDisposeScope();
        var (xt, wt) = (Enum.Parse<ScalarType>(xDtype, true), Enum.Parse<ScalarType>(wDtype, true));
        manual_seed(3);
        var x0 = (randn(2, 5, 64) * 3 + 0.5).to(xt);
        var w0 = (rand(64) + 0.5).to(wt);
        var dy = randn(2, 5, 64).to(Fused(x0, w0).dtype);

        var (yPlain, dxPlain, dwPlain) = Run(x0, w0, dy, (x, w) => RMSNorm.Plain(x, w, 1e-5));
        var (yFused, dxFused, dwFused) = Run(x0, w0, dy, Fused);

        Assert.Equal(yPlain.dtype, yFused.dtype);
        Assert.True(yPlain.eq(yFused).all().item<bool>(), "forward differs");
        Assert.Equal(xt, dxFused.dtype);
        Assert.Equal(wt, dwFused.dtype);
        AssertClose(dxPlain, dxFused, tolerance, "input gradient");
        AssertClose(dwPlain, dwFused, tolerance, "weight gradient");
    }

    [Fact]
    public void IsInstalledIntoEveryNormOfTheModel()
    {
        using var model = new Transformer(ModelFlavors.Llama3["tiny"]);
        FusedRmsNorm.Install(model);
        var norms = model.modules().OfType<RMSNorm>().ToList();
        Assert.Equal(2 * model.Args.NLayers + 1, norms.Count);
        Assert.All(norms, n => Assert.Same(FusedRmsNorm.Instance, n.Kernel));
    }

    [Fact]
    public void ItsHandedOutGradientsAreFreedOnceBackwardHasReturned()
    {
        using var scope = NewDisposeScope();
        manual_seed(4);
        var x = randn(3, 16).requires_grad_(true);
        var w = (rand(16) + 0.5).requires_grad_(true);
        Fused(x, w).sum().backward();
        var expected = x.grad!.clone();
        Assert.True(BackwardScope.Held >= 3, $"held {BackwardScope.Held}"); // dy, dx, dw of the last custom backward
        BackwardScope.ReleaseAll();
        Assert.Equal(0, BackwardScope.Held);
        Assert.True(x.grad!.eq(expected).all().item<bool>(), "the gradient libtorch kept changed after the release");
    }

    private static Tensor Fused(Tensor x, Tensor w) => FusedRmsNormFunction.apply(x, w, 1e-5);

    private static (Tensor Y, Tensor Dx, Tensor Dw) Run(Tensor x0, Tensor w0, Tensor dy, Func<Tensor, Tensor, Tensor> norm)
    {
        var x = x0.clone().requires_grad_(true);
        var w = w0.clone().requires_grad_(true);
        var y = norm(x, w);
        y.backward([dy]);
        return (y.detach(), x.grad!, w.grad!);
    }

    private static void AssertClose(Tensor expected, Tensor actual, double tolerance, string what)
    {
        var (e, a) = (expected.to(ScalarType.Float64), actual.to(ScalarType.Float64));
        double scale = e.abs().max().item<double>();
        double diff = (e - a).abs().max().item<double>();
        Assert.True(diff <= tolerance * scale, $"{what}: max |diff| {diff:G3} against largest entry {scale:G3}");
    }
}
