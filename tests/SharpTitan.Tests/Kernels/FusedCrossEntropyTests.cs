using SharpTitan.Kernels;
using SharpTitan.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace SharpTitan.Tests.Kernels;

/// <summary>The chunked cross-entropy against F.cross_entropy on the fp32 logits: loss and logits gradient within rounding.</summary>
public class FusedCrossEntropyTests
{
    public FusedCrossEntropyTests() => TestSetup.Torch();

    private static (float Loss, Tensor Grad) Run(Tensor logits0, Tensor labels, Func<Tensor, Tensor> loss)
    {
        var logits = logits0.detach().clone().requires_grad_(true);
        var value = loss(logits) / 2; // as accumulation steps divide it: the upstream gradient is not 1
        value.backward();
        return (value.item<float>(), logits.grad!);
    }

    [Theory]
    [InlineData(ScalarType.Float32, 1L << 24, 1e-6)]  // one chunk
    [InlineData(ScalarType.Float32, 7 * 50, 1e-6)]    // 7 rows a chunk: 5 chunks, the last one 2 rows
    [InlineData(ScalarType.BFloat16, 7 * 50, 1e-2)]   // gradients compared in bf16: one rounding apart at most
    public void MatchesFCrossEntropy(ScalarType dtype, long chunkElements, double gradientTolerance)
    {
        using var scope = NewDisposeScope();
        manual_seed(21);
        var logits = (randn(30, 50) * 4).to(dtype);
        var labels = randint(0, 50, [30]);
        labels[3] = tensor(-100L);
        labels[17] = tensor(-100L);

        var (expectedLoss, expectedGrad) = Run(logits, labels, x => F.cross_entropy(x.to(ScalarType.Float32), labels));
        var (loss, grad) = Run(logits, labels, x => FusedCrossEntropy.Mean(x, labels, chunkElements));

        Assert.Equal(expectedLoss, loss, expectedLoss * 1e-6);
        Assert.Equal(dtype, grad.dtype);
        var (e, a) = (expectedGrad.to(ScalarType.Float32), grad.to(ScalarType.Float32));
        double largest = e.abs().max().item<float>(), diff = (e - a).abs().max().item<float>();
        Assert.True(largest > 0);
        Assert.True(diff <= gradientTolerance * largest, $"logits gradient differs by {diff} (largest {largest})");
        Assert.Equal(0f, a[3].abs().sum().item<float>()); // ignored rows take no gradient
    }

    [Fact]
    public void UnderNoGradItGivesTheSameLoss()
    {
        using var scope = NewDisposeScope();
        manual_seed(22);
        var logits = randn(12, 40);
        var labels = randint(0, 40, [12]);
        float expected = F.cross_entropy(logits, labels).item<float>();
        using var _ = no_grad();
        Assert.Equal(expected, FusedCrossEntropy.Mean(logits, labels, 40 * 5).item<float>(), expected * 1e-6);
    }

    [Fact]
    public void TheVocabularyParallelLossOnOneRankMatchesFCrossEntropy()
    {
        // Sharded over more ranks it runs in the tensor-parallel feature-matrix rows (loss parallel is on by default).
        using var scope = NewDisposeScope();
        using var group = new SharpTitan.Distributed.SingleProcessGroup();
        manual_seed(23);
        var logits = randn(30, 50) * 4;
        var labels = randint(0, 50, [30]);
        labels[5] = tensor(-100L);
        var (expectedLoss, expectedGrad) = Run(logits, labels, x => F.cross_entropy(x, labels));
        var (loss, grad) = Run(logits, labels, x => SharpTitan.Parallel.LossParallel.CrossEntropy(x, labels, group, 0));
        Assert.Equal(expectedLoss, loss, expectedLoss * 1e-6);
        double largest = expectedGrad.abs().max().item<float>(), diff = (expectedGrad - grad).abs().max().item<float>();
        Assert.True(diff <= 1e-6 * largest, $"logits gradient differs by {diff} (largest {largest})");
    }

    private static Tensor Loss(bool vocabParallel, Tensor logits, Tensor labels)
    {
        if (!vocabParallel) return FusedCrossEntropy.Mean(logits, labels, 4 * 6);
        using var group = new SharpTitan.Distributed.SingleProcessGroup();
        return SharpTitan.Parallel.LossParallel.CrossEntropy(logits, labels, group, 0);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AnIgnoredRowWithAMinusInfinityLogitLeavesTheLossFinite(bool vocabParallel)
    {
        // An ignored row's stand-in class is 0: its -inf log-probability must not reach the sum as -inf x 0 = NaN.
        using var scope = NewDisposeScope();
        var logits = tensor(new float[] { 1, 2, 3, 4, 5, 6, float.NegativeInfinity, 1, 2, 3, 4, 5 }, [2, 6]);
        var labels = tensor(new long[] { 2, -100 });
        float expected = F.cross_entropy(logits, labels).item<float>();
        Assert.Equal(expected, Loss(vocabParallel, logits, labels).item<float>(), 1e-6);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void EveryLabelIgnoredGivesLossZeroAndNoGradient(bool vocabParallel)
    {
        using var scope = NewDisposeScope();
        var logits = randn(4, 6).requires_grad_(true);
        var loss = Loss(vocabParallel, logits, full(4, -100L));
        loss.backward();
        Assert.Equal(0f, loss.item<float>());
        Assert.Equal(0f, logits.grad!.abs().sum().item<float>());
    }
}
