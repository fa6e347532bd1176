using SharpTitan.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace SharpTitan.Kernels;

/// <summary>
/// The training loss: cross-entropy of logits [N, V] against labels [N], in fp32, averaged over the labels that are
/// not -100 (F.cross_entropy on the fp32 logits, within fp32 rounding; with every label ignored the loss is 0 where
/// F.cross_entropy gives NaN, as in <c>LossParallel</c>). Computed over row chunks with its own backward (softmax −
/// one-hot, recomputed from the logits), it keeps only the logits as they came and the labels. Autograd on
/// F.cross_entropy(logits.float()) holds the fp32 copy and log_softmax's fp32 output and, in backward, makes two
/// fp32 gradients beside the one in the logits' dtype: measured on the CPU, 8x the bf16 logits' size at the loss's
/// backward against 1.2x here (the gradient and a chunk's temporaries); on the 8B shape at seq 8192 with a 100k
/// vocabulary, ~12 GiB against ~2 GiB at the start of backward, the step's peak.
/// </summary>
internal static class FusedCrossEntropy
{
    /// <summary>At most this many elements in one fp32 chunk (64 MiB).</summary>
    public const long ChunkElements = 1L << 24;

    public static Tensor Mean(Tensor logits, Tensor labels, long chunkElements = ChunkElements) =>
        FusedCrossEntropyFunction.Apply(logits, labels, chunkElements);

    /// <summary>dloss / count for the rows that count, 0 for the ignored ones: [N, 1] fp32.</summary>
    internal static Tensor RowScale(Tensor valid, Tensor gradOutput, Tensor count) =>
        valid.to(ScalarType.Float32).mul_(gradOutput.to(ScalarType.Float32) / count).unsqueeze(1);

    /// <summary>
    /// The logits' gradient chunk by chunk, in their dtype: (probabilities − one-hot) · rowScale, where
    /// <paramref name="probabilities"/> gives a chunk's fp32 softmax from the chunk and its first row, and
    /// <paramref name="minusOneHot"/> [N, 1] holds what to add at <paramref name="index"/> (−1, or 0 where the class is elsewhere).
    /// </summary>
    internal static Tensor Gradient(Tensor logits, Tensor index, Tensor minusOneHot, Tensor rowScale, long chunkElements,
        Func<Tensor, long, Tensor> probabilities)
    {
        var grad = empty_like(logits);
        foreach (var (start, rows) in Chunks(logits, chunkElements))
        {
            using var inner = NewDisposeScope();
            var p = probabilities(logits.narrow(0, start, rows), start);
            p.scatter_add_(1, index.narrow(0, start, rows), minusOneHot.narrow(0, start, rows));
            grad.narrow(0, start, rows).copy_(p.mul_(rowScale.narrow(0, start, rows)));
        }
        return grad;
    }

    /// <summary>Row ranges of <paramref name="logits"/> [N, V] with at most <paramref name="elements"/> elements each.</summary>
    internal static IEnumerable<(long Start, long Rows)> Chunks(Tensor logits, long elements)
    {
        long n = logits.shape[0], rows = Math.Max(1, elements / Math.Max(1, logits.shape[1]));
        for (long start = 0; start < n; start += rows) yield return (start, Math.Min(rows, n - start));
    }
}

/// <summary>loss = −Σ_valid log_softmax(x_i)[label_i] / count; dx_i = (softmax(x_i) − onehot(label_i)) · dloss / count.</summary>
internal sealed class FusedCrossEntropyFunction : LeanFunction<FusedCrossEntropyFunction>
{
    public override string Name => "FusedCrossEntropy";

    // vars: [logits [N, V], labels [N] (int64, -100 ignored), elements per chunk (long)]
    protected override Tensor Forward(autograd.AutogradContext ctx, object[] vars)
    {
        var (logits, labels, chunk) = ((Tensor)vars[0], (Tensor)vars[1], (long)vars[2]);
        using var scope = NewDisposeScope();
        var valid = labels.ne(-100);
        var targets = labels.masked_fill(valid.logical_not(), 0).unsqueeze(1);
        var total = zeros(1, ScalarType.Float32, logits.device);
        foreach (var (start, rows) in FusedCrossEntropy.Chunks(logits, chunk))
        {
            using var inner = NewDisposeScope();
            // With a dtype, libtorch casts the chunk first (fp16 on CUDA alone skips the copy): one fp32 temporary more.
            var logProbabilities = logits.narrow(0, start, rows).log_softmax(1, ScalarType.Float32);
            var picked = logProbabilities.gather(1, targets.narrow(0, start, rows)).squeeze(1);
            // masked_fill, not a product: an ignored row's stand-in class may have log-probability −inf.
            total.sub_(picked.masked_fill_(valid.narrow(0, start, rows).logical_not(), 0).sum());
        }
        var count = valid.sum().clamp_min(1).to(ScalarType.Float32);
        // The context saves its tensors after forward returns: they must outlive this scope.
        ctx.save_for_backward([logits, targets.MoveToOuterDisposeScope(), valid.MoveToOuterDisposeScope(), count.MoveToOuterDisposeScope()]);
        ctx.save_data("chunk", chunk);
        return total.div_(count).squeeze().MoveToOuterDisposeScope();
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        using var scope = new BackwardScope(gradOutput);
        using var _ = no_grad();
        var saved = ctx.get_saved_variables();
        var (logits, targets, valid, count) = (saved[0], saved[1], saved[2], saved[3]);
        var rowScale = FusedCrossEntropy.RowScale(valid, gradOutput, count);
        var minusOneHot = full(logits.shape[0], 1, -1f, ScalarType.Float32, logits.device);
        var grad = FusedCrossEntropy.Gradient(logits, targets, minusOneHot, rowScale, (long)ctx.get_data("chunk"),
            (x, _) => x.softmax(1, ScalarType.Float32));
        return scope.HandOut(grad, null, null);
    }
}
