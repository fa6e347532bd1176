using SharpTitan.Distributed;
using SharpTitan.Optim;
using SharpTitan.Parallel;
using static TorchSharp.torch;

namespace SharpTitan.Checkpoint;

/// <summary>
/// Names the tensors of a training job as global tensors: "model.NAME" for parameters (torchtitan names),
/// "optimizer.exp_avg.NAME" and "optimizer.exp_avg_sq.NAME" for AdamW's moments. With FSDP, each shard holds
/// pieces of several parameters (padding excluded); a single process holds whole tensors. With tensor parallel
/// each parameter (and its moments) is this rank's block of the global tensor; under FSDP x TP the FSDP shards
/// are flat ranges of those blocks.
/// </summary>
internal static class TrainingState
{
    public const string Model = "model.", ExpAvg = "optimizer.exp_avg.", ExpAvgSq = "optimizer.exp_avg_sq.";

    /// <summary>
    /// The pieces this rank holds: the parameters the optimizer updates and, with <paramref name="withOptimizer"/>,
    /// AdamW's moments (which follow their parameter's layout). With <paramref name="forSave"/>, pieces that other
    /// ranks hold too are left to one of them, so each is written once; loading fills them on every rank.
    /// </summary>
    public static List<StatePiece> Pieces(IModelParts parts, AdamW? optimizer, bool withOptimizer, bool forSave = false)
    {
        var pieces = parts.StatePieces(Model, parts.OptimizerParameters, forSave);
        if (withOptimizer && optimizer != null)
        {
            pieces.AddRange(parts.StatePieces(ExpAvg, optimizer.ExpAvg, forSave));
            pieces.AddRange(parts.StatePieces(ExpAvgSq, optimizer.ExpAvgSq, forSave));
        }
        return pieces;
    }

    /// <summary>The parameters of a plain model (one process, no transform) as whole pieces.</summary>
    public static List<StatePiece> Pieces(nn.Module model) =>
        model.named_parameters().Select(p => Whole(Model + p.name, p.parameter)).ToList();

    /// <summary>Every global tensor of a job by name (full shapes), whichever ranks hold it.</summary>
    public static Dictionary<string, long[]> GlobalShapes(IModelParts parts, bool withOptimizer)
    {
        var result = new Dictionary<string, long[]>();
        foreach (var (name, shape) in parts.GlobalShapes)
        {
            result[Model + name] = shape;
            if (!withOptimizer) continue;
            result[ExpAvg + name] = shape;
            result[ExpAvgSq + name] = shape;
        }
        return result;
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
}
