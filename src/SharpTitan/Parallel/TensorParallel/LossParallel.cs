using SharpTitan.Distributed;
using SharpTitan.Kernels;
using SharpTitan.Native;
using static TorchSharp.torch;

namespace SharpTitan.Parallel;

/// <summary>
/// Cross-entropy over logits sharded along the vocabulary (each tensor-parallel rank holds a contiguous block of
/// the classes) without gathering them. Each rank computes, over row chunks as <see cref="FusedCrossEntropy"/> does,
/// the log-sum-exp of its block and the target logit where it owns the target class; three all-reduces of one fp32
/// number per row (max, sum of exponentials, target) give every rank the same mean loss. Backward needs no
/// collective: each rank's gradient is softmax − one-hot restricted to its block, from the global log-sum-exp.
/// It keeps only the local logits as they came, the labels and one float per row; with every label ignored the loss is 0.
/// </summary>
internal static class LossParallel
{
    /// <summary>
    /// The training loss of logits [N, V] (or, under loss parallel, this rank's vocabulary block of them): the one
    /// choice the one-process step and the pipeline's last stage share.
    /// </summary>
    public static Tensor TrainingLoss(Tensor logits, Tensor labels, TensorParallel? tp) => tp is { Options.LossParallel: true }
        ? CrossEntropy(logits, labels, tp.Group, tp.VocabStart)
        : FusedCrossEntropy.Mean(logits, labels);

    /// <param name="localLogits">[N, V / tp]: this rank's classes [vocabStart, vocabStart + V / tp).</param>
    /// <param name="labels">[N] class indices, the same on every rank; -100 is ignored (as F.cross_entropy does).</param>
    public static Tensor CrossEntropy(Tensor localLogits, Tensor labels, IProcessGroup group, long vocabStart) =>
        VocabParallelCrossEntropyFunction.Apply(localLogits, labels, group, vocabStart);
}

/// <summary>loss = Σ_valid (lse_i − x_i[label_i]) / count over the whole vocabulary; dx = (exp(x − lse) − onehot) · dloss / count per block.</summary>
internal sealed class VocabParallelCrossEntropyFunction : LeanFunction<VocabParallelCrossEntropyFunction>
{
    public override string Name => "VocabParallelCrossEntropy";

    // vars: [local logits [N, V / tp], labels [N], the tp group, this block's first class (long)]
    protected override Tensor Forward(autograd.AutogradContext ctx, object[] vars)
    {
        var (logits, labels, group, vocabStart) = ((Tensor)vars[0], (Tensor)vars[1], (IProcessGroup)vars[2], (long)vars[3]);
        using var scope = NewDisposeScope();
        long n = logits.shape[0], localVocab = logits.shape[1];
        var valid = labels.ne(-100);
        var owned = labels.ge(vocabStart).logical_and_(labels.lt(vocabStart + localVocab)).logical_and_(valid);
        var localIndex = (labels - vocabStart).masked_fill_(owned.logical_not(), 0).unsqueeze(1);
        var lse = empty(n, ScalarType.Float32, logits.device);
        var target = empty(n, ScalarType.Float32, logits.device);
        foreach (var (start, rows) in FusedCrossEntropy.Chunks(logits, FusedCrossEntropy.ChunkElements))
        {
            using var inner = NewDisposeScope();
            var x = logits.narrow(0, start, rows).to(ScalarType.Float32);
            lse.narrow(0, start, rows).copy_(x.logsumexp(1));
            target.narrow(0, start, rows).copy_(x.gather(1, localIndex.narrow(0, start, rows)).squeeze(1));
        }
        // The vocabulary's log-sum-exp from the blocks': M + log Σ_ranks exp(lse_rank − M), M the largest.
        var max = lse.clone();
        group.AllReduce(max, ReduceOp.Max);
        var sum = lse.sub_(max).exp_();
        group.AllReduce(sum, ReduceOp.Sum);
        var globalLse = sum.log_().add_(max);
        target.masked_fill_(owned.logical_not(), 0); // not a product: a stand-in class's logit may be −inf
        group.AllReduce(target, ReduceOp.Sum);
        var count = valid.sum().clamp_min(1).to(ScalarType.Float32);
        var loss = globalLse.sub(target).masked_fill_(valid.logical_not(), 0).sum().div_(count);
        // The context saves its tensors after forward returns: they must outlive this scope.
        ctx.save_for_backward([logits, localIndex.MoveToOuterDisposeScope(), owned.MoveToOuterDisposeScope(), valid.MoveToOuterDisposeScope(),
            globalLse.MoveToOuterDisposeScope(), count.MoveToOuterDisposeScope()]);
        return loss.MoveToOuterDisposeScope();
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        using var scope = new BackwardScope(gradOutput);
        using var _ = no_grad();
        var saved = ctx.get_saved_variables();
        var (logits, localIndex, owned, valid, lse, count) = (saved[0], saved[1], saved[2], saved[3], saved[4], saved[5]);
        var rowScale = FusedCrossEntropy.RowScale(valid, gradOutput, count);
        var minusOwned = owned.to(ScalarType.Float32).neg_().unsqueeze(1); // the one-hot, where this block holds the target
        // The vocabulary's softmax restricted to this block: exp(x − lse) with the global log-sum-exp.
        var grad = FusedCrossEntropy.Gradient(logits, localIndex, minusOwned, rowScale, FusedCrossEntropy.ChunkElements,
            (x, start) => x.to(ScalarType.Float32, copy: true).sub_(lse.narrow(0, start, x.shape[0]).unsqueeze(1)).exp_());
        return scope.HandOut(grad, null, null, null); // one per argument: labels, group, first class take none
    }
}
