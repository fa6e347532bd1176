using SharpTitan.Config;
using SharpTitan.Distributed;
using SharpTitan.Models.Llama3;
using SharpTitan.Float8;
using SharpTitan.Optim;
using Parameter = TorchSharp.Modules.Parameter;
using static TorchSharp.torch;

namespace SharpTitan.Parallel;

/// <summary>
/// torchtitan's tensor-parallel plan applied to a plain, initialized <see cref="Transformer"/> (identical on every
/// rank): each sharded weight keeps only this rank's block, so a TP run starts from the same full weights as one
/// process. wq/wk/wv/w1/w3 and the output projection are column-wise (output features split; heads split), wo/w2
/// row-wise (input features split), the token embedding row-wise over the vocabulary (masked lookup + sum over
/// ranks). Activations are redistributed by module hooks with differentiable collectives (<see cref="TpCollective"/>).
/// Sequence parallel keeps the residual stream and the norms on sequence shards: all-gather along the sequence
/// before attention / feed-forward / output, reduce-scatter after; without it the stream is replicated and the
/// row-wise outputs are all-reduced. With loss parallel the logits stay sharded over the vocabulary
/// (<see cref="LossParallel"/>); otherwise they are gathered.
/// </summary>
internal sealed class TensorParallel : IWeightSplit, IDisposable
{
    private const long SeqDim = 1;
    private readonly Transformer _model;
    private readonly List<Action> _removeHooks = [];
    private readonly Dictionary<string, (int Dim, long FullSize)> _shards = new();
    private Tensor? _embeddingMask;

    public IProcessGroup Group { get; }
    public TensorParallelOptions Options { get; }
    /// <summary>Async TP's chunked collectives around the attention, feed-forward and output regions (null: plain ones).</summary>
    internal IOverlappedRegions? OverlappedRegions { get; set; }
    /// <summary>First vocabulary index of this rank's embedding rows and logit columns.</summary>
    public long VocabStart { get; }
    /// <summary>The full vocabulary (it need not divide by the degree: the last ranks' blocks are shorter).</summary>
    public long VocabSize { get; }

    /// <summary>One-line ConfigExceptions for shapes this plan cannot split.</summary>
    /// <param name="validationSeqLen">validation.seq_len when [validation] is enabled.</param>
    public static void Validate(ModelArgs args, int degree, TensorParallelOptions options, int seqLen, int? validationSeqLen = null)
    {
        if (degree <= 1) return;
        const string key = "parallelism.tensor_parallel_degree";
        if (args.NHeads % degree != 0 || args.KvHeads % degree != 0)
            throw new ConfigException($"{key} = {degree} must divide the model's n_heads ({args.NHeads}) and n_kv_heads ({args.KvHeads})");
        if (args.FfnHiddenDim % degree != 0)
            throw new ConfigException($"{key} = {degree} must divide the model's feed-forward hidden size ({args.FfnHiddenDim})");
        // Tied: the output projection is a plain F.linear with the embedding, not a module whose output TP can gather.
        if (args.TieEmbeddings && !options.LossParallel)
            throw new ConfigException($"{key} = {degree} with tied embeddings (this flavor's tie_embeddings) needs loss parallel: set parallelism.disable_loss_parallel = false");
        if (options.SequenceParallel && seqLen % degree != 0)
            throw new ConfigException($"training.seq_len = {seqLen} must be a multiple of {key} ({degree}) with parallelism.enable_sequence_parallel");
        if (options.SequenceParallel && validationSeqLen is int v && v % degree != 0)
            throw new ConfigException($"validation.seq_len = {v} must be a multiple of {key} ({degree}) with parallelism.enable_sequence_parallel");
        if (options.AsyncTp && !options.SequenceParallel)
            throw new ConfigException("parallelism.enable_async_tensor_parallel needs parallelism.enable_sequence_parallel = true");
    }

    public TensorParallel(Transformer model, IProcessGroup group, TensorParallelOptions options)
    {
        _model = model;
        Group = group;
        Options = options;
        VocabSize = model.tok_embeddings.weight!.shape[0];
        VocabStart = TpComm.Block(VocabSize, group.Size, group.Rank).Start;
        Shard(model.tok_embeddings.weight!, "tok_embeddings.weight", 0);
        for (int i = 0; i < model.layers.Count; i++)
        {
            var a = model.layers[i].attention;
            var f = model.layers[i].feed_forward;
            string p = $"layers.{i}.";
            Shard(a.wq.weight!, p + "attention.wq.weight", 0);
            Shard(a.wk.weight!, p + "attention.wk.weight", 0);
            Shard(a.wv.weight!, p + "attention.wv.weight", 0);
            Shard(a.wo.weight!, p + "attention.wo.weight", 1);
            Shard(f.w1.weight!, p + "feed_forward.w1.weight", 0);
            Shard(f.w3.weight!, p + "feed_forward.w3.weight", 0);
            Shard(f.w2.weight!, p + "feed_forward.w2.weight", 1);
        }
        // Tied embeddings: the embedding's vocabulary rows are also the output projection's (column-wise) block.
        if (model.output != null) Shard(model.output.weight!, "output.weight", 0);
        RegisterHooks();
    }

    /// <summary>A sharded parameter's place in the full tensor (checkpoints): the split dimension, this rank's block along it, the full size; null when replicated.</summary>
    public (int Dim, long Start, long Count, long FullSize)? ShardOf(string name) =>
        _shards.TryGetValue(name, out var s) && TpComm.Block(s.FullSize, Group.Size, Group.Rank) is var (start, count) ? (s.Dim, start, count, s.FullSize) : null;

    /// <summary>A parameter's global shape and, when TP shards it, this rank's block of it (checkpoints).</summary>
    public (long[] Shape, TensorBlock? Block) Place(string name, long[] localShape)
    {
        if (ShardOf(name) is not { } s) return (localShape, null);
        var shape = localShape.ToArray();
        shape[s.Dim] = s.FullSize;
        var offset = new long[shape.Length];
        offset[s.Dim] = s.Start;
        return (shape, new TensorBlock(offset, localShape));
    }

    /// <summary>Parameters whose values are the same on every TP rank (the norms): counted once in norms.</summary>
    public bool IsReplicated(string name) => !_shards.ContainsKey(name);

    /// <summary>The dimension along which a parameter is split over the TP group (0 rows, 1 columns), or null when replicated.</summary>
    public int? WeightShardDim(string name) => _shards.TryGetValue(name, out var s) ? s.Dim : null;

    /// <summary>
    /// With sequence parallel each rank's norm-weight gradient covers only its sequence shard: sums it over the
    /// TP group in place (call once per backward for every replicated parameter's gradient, before any reduction
    /// over data-parallel ranks or clipping). Without sequence parallel there is nothing to do.
    /// </summary>
    public void ReducePartialGradient(string name, Tensor grad)
    {
        if (!Options.SequenceParallel || !IsReplicated(name) || Group.Size == 1) return;
        Group.AllReduceInPlace(grad);
    }

    /// <summary>For the plain (non-FSDP) model after backward: <see cref="ReducePartialGradient"/> on its parameters.</summary>
    public void ReducePartialGradients()
    {
        foreach (var (name, p) in _model.named_parameters())
            if (p.grad is { } g) using (g) ReducePartialGradient(name, g);
    }

    /// <summary>A parameter's full value from this rank's block (collective over the TP group).</summary>
    public Tensor FullValue(string name, Tensor local)
    {
        using var _ = no_grad();
        return _shards.TryGetValue(name, out var s) ? TpComm.AllGather(local.detach(), Group, s.Dim, s.FullSize) : local.detach().clone();
    }

    /// <summary>
    /// This rank's share of the squared gradient norm: sharded gradients in full, replicated ones on TP rank 0
    /// only (so summing over the TP group counts them once).
    /// </summary>
    public double SumOfSquares(IEnumerable<(string Name, Tensor Grad)> grads)
    {
        using var scope = NewDisposeScope();
        double total = 0;
        foreach (var (name, g) in grads)
            if (!IsReplicated(name) || Group.Rank == 0) total += GradientClipping.SumOfSquares(g);
        return total;
    }

    /// <summary>The sequence length of this rank's hidden states between blocks (its block of the sequence under sequence parallel).</summary>
    public long LocalSeqLen(long seqLen) => Options.SequenceParallel ? TpComm.Block(seqLen, Group.Size, Group.Rank).Count : seqLen;

    /// <summary>Full logits [.., V] from the vocabulary-sharded ones (evaluation; not differentiable).</summary>
    public Tensor GatherLogits(Tensor localLogits) => Options.LossParallel ? TpComm.AllGather(localLogits, Group, -1, VocabSize) : localLogits.alias();

    private void Shard(Parameter p, string name, int dim)
    {
        long n = p.shape[dim];
        var (start, count) = TpComm.Block(n, Group.Size, Group.Rank);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        p.set_(p.narrow(dim, start, count).clone());
        _shards[name] = (dim, n);
    }

    private void RegisterHooks()
    {
        var emb = _model.tok_embeddings;
        var embPre = emb.register_forward_pre_hook((_, tokens) => EmbeddingInput(tokens));
        var embPost = emb.register_forward_hook((_, _, output) => EmbeddingOutput(output));
        _removeHooks.Add(embPre.remove);
        _removeHooks.Add(embPost.remove);
        foreach (var layer in _model.layers)
        {
            var attention = layer.attention;
            var ffn = layer.feed_forward;
            var aPre = attention.register_forward_pre_hook((_, x, cos, sin) => (RegionInput(attention, x), cos, sin));
            var aPost = attention.register_forward_hook((_, _, _, _, output) => RegionOutput(attention, output));
            var fPre = ffn.register_forward_pre_hook((_, x) => RegionInput(ffn, x));
            var fPost = ffn.register_forward_hook((_, _, output) => RegionOutput(ffn, output));
            _removeHooks.AddRange([aPre.remove, aPost.remove, fPre.remove, fPost.remove]);
        }
        if (_model.output is not { } output)
        {
            // Tied: the final norm's output feeds only F.linear(h, embedding), whose logits stay vocabulary-sharded
            // (Validate requires loss parallel).
            var normPost = _model.norm.register_forward_hook((_, _, h) => BlockInput(h));
            _removeHooks.Add(normPost.remove);
            return;
        }
        var outPre = output.register_forward_pre_hook((_, x) => RegionInput(output, x));
        var outPost = output.register_forward_hook((_, _, logits) =>
        {
            OverlappedRegions?.Leave(output, logits); // no row-wise layer here: only ends the region
            return Options.LossParallel ? logits : TpCollective.Apply(logits, TpOp.AllGatherReplicated, Group, -1, VocabSize);
        });
        _removeHooks.Add(outPre.remove);
        _removeHooks.Add(outPost.remove);
    }

    private Tensor RegionInput(nn.Module region, Tensor x) => OverlappedRegions?.Enter(region, x) ?? BlockInput(x);

    private Tensor RegionOutput(nn.Module region, Tensor output) => OverlappedRegions?.Leave(region, output) ?? BlockOutput(output);

    // Input of a column-wise region: the full sequence (SP) or the replicated stream whose gradient is partial.
    private Tensor BlockInput(Tensor x) =>
        TpCollective.Apply(x, Options.SequenceParallel ? TpOp.AllGather : TpOp.Copy, Group, SeqDim);

    // Output of a row-wise layer: partial sums over ranks.
    private Tensor BlockOutput(Tensor partial) =>
        TpCollective.Apply(partial, Options.SequenceParallel ? TpOp.ReduceScatter : TpOp.AllReduce, Group, SeqDim);

    private Tensor EmbeddingInput(Tensor tokens)
    {
        long rows = _model.tok_embeddings.weight!.shape[0];
        var outside = tokens.lt(VocabStart).logical_or(tokens.ge(VocabStart + rows));
        _embeddingMask?.Dispose();
        _embeddingMask = outside.DetachFromDisposeScope();
        return (tokens - VocabStart).masked_fill(outside, 0);
    }

    private Tensor EmbeddingOutput(Tensor output)
    {
        var mask = _embeddingMask!;
        _embeddingMask = null;
        using (mask)
        {
            var owned = output.masked_fill(mask.unsqueeze(-1), 0.0);
            return BlockOutput(owned);
        }
    }

    public void Dispose()
    {
        foreach (var remove in _removeHooks) remove();
        _removeHooks.Clear();
        _embeddingMask?.Dispose();
    }
}
