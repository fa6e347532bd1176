using SharpTitan.Distributed;
using static TorchSharp.torch;

namespace SharpTitan.Parallel;

/// <summary>
/// Cross-entropy over logits sharded along the vocabulary (each tensor-parallel rank holds a contiguous block of
/// the classes) without gathering them: an all-reduce of the row maxima, of the sums of exponentials and of the
/// target logits (which only the rank owning the target class holds). Every rank gets the same mean loss.
/// The sums go through <see cref="TpOp.AllReduce"/>, whose backward is the identity, so autograd gives each rank
/// the gradient of its own block: softmax - one-hot, restricted to the block.
/// </summary>
internal static class LossParallel
{
    /// <param name="localLogits">[N, V / tp]: this rank's classes [vocabStart, vocabStart + V / tp).</param>
    /// <param name="labels">[N] class indices, the same on every rank; -100 is ignored (as F.cross_entropy does).</param>
    public static Tensor CrossEntropy(Tensor localLogits, Tensor labels, IProcessGroup group, long vocabStart)
    {
        using var scope = NewDisposeScope();
        var x = localLogits.to(ScalarType.Float32);
        long localVocab = x.shape[1];
        Tensor max;
        using (no_grad())
        {
            // A constant shift for stability: it cancels in the loss, so no gradient flows through it.
            max = x.max(1).values.contiguous();
            group.AllReduce(max, ReduceOp.Max);
        }
        var shifted = x - max.unsqueeze(1);
        var sumExp = TpCollective.Apply(shifted.exp().sum(1), TpOp.AllReduce, group);
        var owned = labels.ge(vocabStart).logical_and(labels.lt(vocabStart + localVocab));
        var localIndex = (labels - vocabStart).masked_fill(owned.logical_not(), 0);
        var target = shifted.gather(1, localIndex.unsqueeze(1)).squeeze(1).masked_fill(owned.logical_not(), 0.0);
        target = TpCollective.Apply(target, TpOp.AllReduce, group);
        var valid = labels.ne(-100);
        var perToken = (sumExp.log() - target).masked_fill(valid.logical_not(), 0.0);
        var loss = perToken.sum() / valid.sum().clamp_min(1).to(ScalarType.Float32);
        return loss.MoveToOuterDisposeScope();
    }
}
