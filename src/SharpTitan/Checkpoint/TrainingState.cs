using SharpTitan.Parallel;
using SharpTitan.Training;
using static TorchSharp.torch;

namespace SharpTitan.Checkpoint;

/// <summary>
/// Names the tensors of a training job as global tensors: "model.NAME" for parameters (torchtitan names),
/// "optimizer.exp_avg.NAME" and "optimizer.exp_avg_sq.NAME" for AdamW's moments. With FSDP, each shard holds
/// pieces of several parameters (padding excluded); a single process holds whole tensors. With tensor parallel
/// each parameter (and its moments) is this rank's block of the global tensor; under FSDP x TP the FSDP shards
/// are flat ranges of those blocks.
/// </summary>
public static class TrainingState
{
    public const string Model = "model.", ExpAvg = "optimizer.exp_avg.", ExpAvgSq = "optimizer.exp_avg_sq.";

    /// <summary>
    /// The pieces this rank holds. With <paramref name="withOptimizer"/> false, the model only. With
    /// <paramref name="forSave"/>, tensors replicated over the TP group (the norms) come from TP rank 0 only, so
    /// they are written once; loading fills them on every rank.
    /// </summary>
    public static List<StatePiece> Pieces(nn.Module model, FsdpModel? fsdp, AdamW? optimizer, bool withOptimizer,
        TensorParallel? tp = null, bool forSave = false) =>
        Pieces(model.named_parameters().Select(p => (p.name, (Tensor)p.parameter)), fsdp, optimizer, withOptimizer, tp, forSave);

    /// <summary>
    /// As above over the tensors the optimizer updates when there is no FSDP (<paramref name="parameters"/>: the
    /// model's parameters, or the fp32 masters of single-process mixed precision), in the optimizer's order.
    /// </summary>
    public static List<StatePiece> Pieces(IEnumerable<(string Name, Tensor Value)> parameters, FsdpModel? fsdp, AdamW? optimizer,
        bool withOptimizer, TensorParallel? tp = null, bool forSave = false)
    {
        var pieces = new List<StatePiece>();
        bool Skip(string name) => forSave && tp != null && tp.Group.Rank != 0 && tp.IsReplicated(name);
        if (fsdp != null)
        {
            for (int i = 0; i < fsdp.Shards.Count; i++)
            {
                var layout = fsdp.ShardLayouts[i];
                AddShard(pieces, Model, layout, fsdp.Shards[i], tp, Skip);
                if (withOptimizer && optimizer != null)
                {
                    AddShard(pieces, ExpAvg, layout, optimizer.ExpAvg[i], tp, Skip);
                    AddShard(pieces, ExpAvgSq, layout, optimizer.ExpAvgSq[i], tp, Skip);
                }
            }
            return pieces;
        }
        var named = parameters.ToList();
        for (int i = 0; i < named.Count; i++)
        {
            var (name, p) = named[i];
            if (Skip(name)) continue;
            var (shape, block) = Place(name, p.shape, tp);
            AddWhole(pieces, Model + name, shape, block, p);
            if (withOptimizer && optimizer != null)
            {
                // The optimizer was built over these tensors in this same order.
                AddWhole(pieces, ExpAvg + name, shape, block, optimizer.ExpAvg[i]);
                AddWhole(pieces, ExpAvgSq + name, shape, block, optimizer.ExpAvgSq[i]);
            }
        }
        return pieces;
    }

    /// <summary>A parameter's global shape and, when TP shards it, this rank's block of it.</summary>
    public static (long[] Shape, TensorBlock? Block) Place(string name, long[] localShape, TensorParallel? tp)
    {
        if (tp?.ShardOf(name) is not { } s) return (localShape, null);
        var shape = localShape.ToArray();
        shape[s.Dim] = s.FullSize;
        var offset = new long[shape.Length];
        offset[s.Dim] = s.Start;
        return (shape, new TensorBlock(offset, localShape));
    }

    /// <summary>The parameter shapes of a Llama 3 model with these args, by torchtitan name (nothing allocated).</summary>
    public static Dictionary<string, long[]> ParameterShapes(Models.Llama3.ModelArgs a)
    {
        long d = a.Dim, q = (long)a.NHeads * a.HeadDim, kv = (long)a.KvHeads * a.HeadDim, f = a.FfnHiddenDim, v = a.VocabSize;
        var shapes = new Dictionary<string, long[]> { ["tok_embeddings.weight"] = [v, d], ["norm.weight"] = [d] };
        if (!a.TieEmbeddings) shapes["output.weight"] = [v, d];
        for (int i = 0; i < a.NLayers; i++)
        {
            var b = $"layers.{i}.";
            shapes[b + "attention.wq.weight"] = [q, d];
            shapes[b + "attention.wk.weight"] = [kv, d];
            shapes[b + "attention.wv.weight"] = [kv, d];
            shapes[b + "attention.wo.weight"] = [d, q];
            shapes[b + "feed_forward.w1.weight"] = [f, d];
            shapes[b + "feed_forward.w2.weight"] = [d, f];
            shapes[b + "feed_forward.w3.weight"] = [f, d];
            shapes[b + "attention_norm.weight"] = [d];
            shapes[b + "ffn_norm.weight"] = [d];
        }
        return shapes;
    }

    /// <summary>A whole tensor as one piece (a flat view of it; the tensor must be contiguous).</summary>
    public static StatePiece Whole(string name, Tensor t)
    {
        var flat = t.detach().view(-1);
        return new StatePiece(name, t.shape, flat, 0, 0, flat.numel());
    }

    // A TP rank's block may be empty (a vocabulary that does not divide): nothing to save or load then.
    private static void AddWhole(List<StatePiece> pieces, string name, long[] shape, TensorBlock? block, Tensor t)
    {
        var flat = t.detach().view(-1);
        if (flat.numel() > 0) pieces.Add(new StatePiece(name, shape, flat, 0, 0, flat.numel(), block));
    }

    private static void AddShard(List<StatePiece> pieces, string prefix, FsdpShardLayout layout, Tensor shard, TensorParallel? tp,
        Func<string, bool> skip)
    {
        var flat = shard.detach();
        long start = layout.Start, end = layout.Start + layout.Length;
        foreach (var (name, localShape, offset, numel) in layout.Parameters)
        {
            long lo = Math.Max(start, offset), hi = Math.Min(end, offset + numel);
            if (lo >= hi || skip(name)) continue;
            var (shape, block) = Place(name, localShape, tp);
            pieces.Add(new StatePiece(prefix + name, shape, flat, lo - start, lo - offset, hi - lo, block));
        }
    }
}
