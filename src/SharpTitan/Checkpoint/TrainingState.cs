using SharpTitan.Parallel;
using SharpTitan.Training;
using static TorchSharp.torch;

namespace SharpTitan.Checkpoint;

/// <summary>
/// Names the tensors of a training job as global tensors: "model.NAME" for parameters (torchtitan names),
/// "optimizer.exp_avg.NAME" and "optimizer.exp_avg_sq.NAME" for AdamW's moments. With FSDP, each shard holds
/// pieces of several parameters (padding excluded); a single process holds whole tensors.
/// </summary>
public static class TrainingState
{
    public const string Model = "model.", ExpAvg = "optimizer.exp_avg.", ExpAvgSq = "optimizer.exp_avg_sq.";

    /// <summary>The pieces this rank holds. With <paramref name="withOptimizer"/> false, the model only.</summary>
    public static List<StatePiece> Pieces(nn.Module model, FsdpModel? fsdp, AdamW? optimizer, bool withOptimizer)
    {
        var pieces = new List<StatePiece>();
        if (fsdp != null)
        {
            for (int i = 0; i < fsdp.Shards.Count; i++)
            {
                var layout = fsdp.ShardLayouts[i];
                AddShard(pieces, Model, layout, fsdp.Shards[i]);
                if (withOptimizer && optimizer != null)
                {
                    AddShard(pieces, ExpAvg, layout, optimizer.ExpAvg[i]);
                    AddShard(pieces, ExpAvgSq, layout, optimizer.ExpAvgSq[i]);
                }
            }
            return pieces;
        }
        var named = model.named_parameters().ToList();
        for (int i = 0; i < named.Count; i++)
        {
            var (name, p) = named[i];
            pieces.Add(Whole(Model + name, p));
            if (withOptimizer && optimizer != null)
            {
                // The optimizer was built over model.parameters() in this same order.
                pieces.Add(Whole(ExpAvg + name, optimizer.ExpAvg[i]));
                pieces.Add(Whole(ExpAvgSq + name, optimizer.ExpAvgSq[i]));
            }
        }
        return pieces;
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

    private static void AddShard(List<StatePiece> pieces, string prefix, FsdpShardLayout layout, Tensor shard)
    {
        var flat = shard.detach();
        long start = layout.Start, end = layout.Start + layout.Length;
        foreach (var (name, shape, offset, numel) in layout.Parameters)
        {
            long lo = Math.Max(start, offset), hi = Math.Min(end, offset + numel);
            if (lo < hi) pieces.Add(new StatePiece(prefix + name, shape, flat, lo - start, lo - offset, hi - lo));
        }
    }
}
