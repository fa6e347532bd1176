using SharpTitan.Config;
using SharpTitan.Distributed;
using SharpTitan.Models.Llama3;
using SharpTitan.Native;
using SharpTitan.Parallel;
using static TorchSharp.torch;

namespace SharpTitan.Tests.Parallel;

/// <summary>
/// Context parallel's attention in one process: libtorch's fused CPU kernel with its log-sum-exp against the same
/// formulas in plain ops, every rank's blocks (fused forward merged by log-sum-exp, fused backward from the merged
/// output and log-sum-exp) against causal SDPA with its gradients, with and without grouped-query heads, and the
/// autograd function against SDPA on a one-rank group. Multi-rank runs are rows of <see cref="FeatureMatrixTests"/>.
/// </summary>
public class ContextParallelAttentionTests
{
    // fp32, sequences of 16-64 tokens: measured differences are ~1e-7 (forward) to ~1e-6 (gradients).
    private const double Fp32Tolerance = 1e-5;

    [Theory]
    [InlineData(2, 4, 4)]
    [InlineData(2, 4, 2)]
    [InlineData(4, 6, 2)]
    public void EveryRanksFusedBlocksEqualCausalAttentionWithItsGradients(int degree, int heads, int kvHeads)
    {
        using var scope = NewDisposeScope();
        manual_seed(7);
        const int seqLen = 64, batch = 2, headDim = 8;
        var (q, k, v) = (randn(batch, heads, seqLen, headDim), randn(batch, kvHeads, seqLen, headDim), randn(batch, kvHeads, seqLen, headDim));
        var weight = randn(batch, heads, seqLen, headDim); // the loss sum(out x weight): its output gradient is weight
        var (expected, expectedGrads) = WithGradients(q, k, v, weight, (a, b, c) => new ScaledDotProductAttention().call(a, b, c));

        // Each rank's queries against each rank's keys and values (as the rotate methods bring them), in one process.
        var layouts = Enumerable.Range(0, degree).Select(r => new LoadBalancedLayout(degree, r)).ToArray();
        var kvs = layouts.Select(l => stack([l.Shard(k, 2), l.Shard(v, 2)])).ToArray();
        var dkvs = kvs.Select(kv => zeros_like(kv)).ToArray();
        var outputs = new Tensor[degree];
        var dqs = new Tensor[degree];
        for (int r = 0; r < degree; r++)
        {
            var blocks = new CausalBlocks(layouts[r], seqLen / degree);
            var qr = layouts[r].Shard(q, 2);
            var running = new (Tensor Out, Tensor Lse)?[2];
            for (int source = 0; source < degree; source++) blocks.Attend(running, qr, kvs[source], source);
            var (output, lse) = CausalBlocks.Finish(running, ScalarType.Float32);
            outputs[r] = output;
            dqs[r] = zeros_like(qr);
            for (int source = 0; source < degree; source++)
                blocks.Gradients(dqs[r], dkvs[source], layouts[r].Shard(weight, 2), qr, output, lse, kvs[source], source);
        }
        AssertClose(expected, layouts[0].Unshard(cat(outputs, 2), 2), Fp32Tolerance, "output");
        AssertClose(expectedGrads[0], layouts[0].Unshard(cat(dqs, 2), 2), Fp32Tolerance, "dq");
        AssertClose(expectedGrads[1], layouts[0].Unshard(cat(dkvs.Select(d => d[0]).ToArray(), 2), 2), Fp32Tolerance, "dk");
        AssertClose(expectedGrads[2], layouts[0].Unshard(cat(dkvs.Select(d => d[1]).ToArray(), 2), 2), Fp32Tolerance, "dv");
    }

    [Theory]
    [InlineData(ContextParallelRotateMethod.AllGather)]
    [InlineData(ContextParallelRotateMethod.AllToAll)]
    public void TheAttentionFunctionOnOneRankEqualsCausalAttentionWithItsGradients(ContextParallelRotateMethod method)
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var (q, k, v) = (randn(2, 4, 32, 8), randn(2, 2, 32, 8), randn(2, 2, 32, 8));
        var weight = randn(2, 4, 32, 8);
        var (expected, expectedGrads) = WithGradients(q, k, v, weight, (a, b, c) => new ScaledDotProductAttention().call(a, b, c));
        using var group = new SingleProcessGroup("cp");
        var attention = new ContextParallelAttention(group, new LoadBalancedLayout(1, 0), method);
        var before = ContextParallelTimes.Read();
        var (actual, actualGrads) = WithGradients(q, k, v, weight, (a, b, c) => attention.call(a, b, c));
        AssertClose(expected, actual, Fp32Tolerance, "output");
        for (int i = 0; i < 3; i++) AssertClose(expectedGrads[i], actualGrads[i], Fp32Tolerance, $"gradient {i}");
        Assert.True(ContextParallelTimes.Read().Attention > before.Attention);
    }

    /// <summary>
    /// The fused kernel agrees with the plain-ops path (what other devices run) forward, and backward for any
    /// output and log-sum-exp handed in (a block's share of a larger attention's gradients), in fp32 and bf16.
    /// </summary>
    [Theory]
    [InlineData(ScalarType.Float32, true, 1e-5)]
    [InlineData(ScalarType.Float32, false, 1e-5)]
    [InlineData(ScalarType.BFloat16, true, 2e-2)]
    public void TheFusedKernelEqualsThePlainOpsPath(ScalarType dtype, bool causal, double tolerance)
    {
        using var scope = NewDisposeScope();
        manual_seed(11);
        var (q, k, v) = (randn(2, 3, 16, 8).to(dtype), randn(2, 3, 16, 8).to(dtype), randn(2, 3, 16, 8).to(dtype));
        var (output, lse) = FlashAttentionKernel.Attend(q, k, v, causal);
        var (mathOutput, mathLse) = BlockAttention.MathAttend(q, k, v, causal);
        Assert.Equal(dtype, output.dtype);
        Assert.Equal(ScalarType.Float32, lse.dtype);
        Assert.Equal([2L, 3, 16], lse.shape);
        AssertClose(mathOutput.to(ScalarType.Float32), output.to(ScalarType.Float32), tolerance, "output");
        AssertClose(mathLse, lse, tolerance, "log-sum-exp");

        // As one block of a larger attention: a larger log-sum-exp and that attention's output.
        var wholeLse = lse + rand_like(lse);
        var wholeOutput = randn_like(output);
        var gradOut = randn_like(output);
        var fused = FlashAttentionKernel.Gradients(gradOut, q, k, v, wholeOutput, wholeLse, causal);
        var math = BlockAttention.MathGradients(gradOut, q, k, v, wholeOutput, wholeLse, causal);
        AssertClose(math.Dq.to(ScalarType.Float32), fused.Dq.to(ScalarType.Float32), tolerance, "dq");
        AssertClose(math.Dk.to(ScalarType.Float32), fused.Dk.to(ScalarType.Float32), tolerance, "dk");
        AssertClose(math.Dv.to(ScalarType.Float32), fused.Dv.to(ScalarType.Float32), tolerance, "dv");
    }

    private static (Tensor Out, Tensor[] Grads) WithGradients(Tensor q, Tensor k, Tensor v, Tensor weight, Func<Tensor, Tensor, Tensor, Tensor> attention)
    {
        var inputs = new[] { q, k, v }.Select(t => t.detach().requires_grad_(true)).ToArray();
        var output = attention(inputs[0], inputs[1], inputs[2]);
        (output * weight).sum().backward();
        return (output.detach(), inputs.Select(t => t.grad!.detach()).ToArray());
    }

    private static void AssertClose(Tensor expected, Tensor actual, double tolerance, string what)
    {
        Assert.Equal(expected.shape, actual.shape);
        // Relative to the largest value where values exceed 1 (bf16 rounds to 8 significant bits).
        double diff = (expected - actual).abs().max().item<float>(), scale = Math.Max(1, expected.abs().max().item<float>());
        Assert.True(diff <= tolerance * scale, $"{what}: max |diff| {diff} > {tolerance} x {scale}");
    }
}
