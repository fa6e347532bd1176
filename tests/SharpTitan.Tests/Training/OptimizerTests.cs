using SharpTitan.Optim;
using SharpTitan.Tests.Support;
using SharpTitan.Training;
using static TorchSharp.torch;

namespace SharpTitan.Tests.Training;

public class OptimizerTests
{
    public OptimizerTests() => TestSetup.Torch();

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void MatchesLibtorchAdamAndAdamW(bool decoupled)
    {
        using var scope = NewDisposeScope();
        manual_seed(7);
        var ours = new[] { randn(5, 3), randn(4) };
        var theirs = ours.Select(p => p.clone().requires_grad_(true)).ToArray();
        var oursP = ours.Select(p => p.requires_grad_(true)).ToArray();
        using var adam = new AdamW(oursP, lr: 0.01, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, decoupled: decoupled);
        var reference = decoupled
            ? optim.AdamW(theirs.Select(t => (TorchSharp.Modules.Parameter)new TorchSharp.Modules.Parameter(t)).ToArray(), 0.01, 0.9, 0.95, 1e-8, 0.1)
            : (optim.Optimizer)optim.Adam(theirs.Select(t => new TorchSharp.Modules.Parameter(t)).ToArray(), 0.01, 0.9, 0.95, 1e-8, 0.1);
        var refParams = reference.parameters().ToArray();
        for (int step = 0; step < 5; step++)
        {
            for (int i = 0; i < 2; i++)
            {
                var g = randn(ours[i].shape);
                oursP[i].grad = g.clone();
                refParams[i].grad = g.clone();
            }
            adam.Step();
            reference.step();
        }
        for (int i = 0; i < 2; i++)
            Assert.True(allclose(oursP[i], refParams[i], rtol: 1e-5, atol: 1e-6), $"parameter {i} differs from libtorch's optimizer");
    }

    [Fact]
    public void ClippingMatchesDefinition()
    {
        using var scope = NewDisposeScope();
        var a = zeros(2).requires_grad_(true);
        var b = zeros(1).requires_grad_(true);
        a.grad = tensor(new float[] { 3, 0 });
        b.grad = tensor(new float[] { 4 });
        double norm = GradientClipping.ClipByGlobalNorm([a, b], maxNorm: 1.0);
        Assert.Equal(5.0, norm, 6);
        Assert.Equal(3 / 5.0, a.grad!.data<float>()[0], 4);
        Assert.Equal(4 / 5.0, b.grad!.data<float>()[0], 4);
        // Below the limit nothing changes; the norm across ranks comes from the reducer.
        double reduced = GradientClipping.ClipByGlobalNorm([a, b], maxNorm: 10, allReduceSum: s => s * 4);
        Assert.Equal(2.0, reduced, 5);
        Assert.Equal(3 / 5.0, a.grad!.data<float>()[0], 4);
    }

    [Fact]
    public void SumOfSquaresAcrossBlocksMatchesFp64Definition()
    {
        using var scope = NewDisposeScope();
        // Longer than two blocks and not a multiple of one, so the last partial block counts too.
        var g = randn(3, 200_001, generator: manual_seed(3));
        double expected = g.to(ScalarType.Float64).square().sum().item<double>();
        Assert.Equal(expected, GradientClipping.SumOfSquares(g), expected * 1e-12);
    }
}
