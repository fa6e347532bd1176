using SharpTitan.Distributed;
using SharpTitan.Models.Llama3;
using SharpTitan.Parallel;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace SharpTitan.Tests.Parallel;

/// <summary>
/// Async TP's composition with other kernels, in one process (a TP group of one: the chunked path runs with no
/// other ranks' rows; the multi-rank results are in <see cref="TensorParallelEquivalenceTests"/>).
/// </summary>
public class AsyncTensorParallelTests
{
    /// <summary>A kernel another transform (Float8) could have installed: F.linear that counts its calls.</summary>
    private sealed class CountingKernel : ILinearKernel
    {
        public int Calls;
        public Tensor Apply(Tensor input, Tensor weight)
        {
            Calls++;
            return F.linear(input, weight);
        }
    }

    [Fact]
    public void RunsTheInstalledKernelOnEveryPieceGivesThePlainResultAndRestoresItOnDispose()
    {
        Support.TestSetup.Torch();
        manual_seed(7);
        using var model = new Transformer(ModelFlavors.Llama3["tiny"] with { VocabSize = 50, MaxSeqLen = 8 });
        model.InitWeights();
        using var tokens = randint(0, 50, [2, 8]);
        var wq = model.layers[0].attention.wq;
        var (expectedLogits, expectedGrad) = LogitsAndWqGradient(model, tokens);

        var counting = new CountingKernel();
        wq.Kernel = counting;
        using var group = new SingleProcessGroup("tp");
        using var tp = new TensorParallel(model, group, new TensorParallelOptions(SequenceParallel: true, LossParallel: true, AsyncTp: true));
        var asyncTp = AsyncTensorParallel.Apply(model, tp, pieces: 2);
        Assert.NotSame(counting, wq.Kernel);

        var (logits, grad) = LogitsAndWqGradient(model, tokens);
        Assert.Equal(3, counting.Calls); // own rows, then 2 pieces of the other ranks' (here: none)
        Assert.True(logits.allclose(expectedLogits, rtol: 1e-5, atol: 1e-6), "async TP changed the logits");
        Assert.True(grad.allclose(expectedGrad, rtol: 1e-5, atol: 1e-6), "async TP changed wq's gradient");

        asyncTp.Dispose();
        Assert.Same(counting, wq.Kernel);
        foreach (var t in new[] { expectedLogits, expectedGrad, logits, grad }) t.Dispose();
    }

    private static (Tensor Logits, Tensor WqGrad) LogitsAndWqGradient(Transformer model, Tensor tokens)
    {
        using var scope = NewDisposeScope();
        model.zero_grad();
        var logits = model.forward(tokens);
        logits.square().mean().backward();
        var grad = model.layers[0].attention.wq.weight.grad!.clone();
        return (logits.detach().MoveToOuterDisposeScope(), grad.MoveToOuterDisposeScope());
    }
}
