using SharpTitan.Models.Llama3;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace SharpTitan.Parallel;

/// <summary>
/// Async TP's form of the sequence-parallel collectives around a region: <see cref="Enter"/> replaces the
/// all-gather of the region's input, <see cref="Leave"/> the reduce-scatter of its output (null: not handled here,
/// the plain collective runs).
/// </summary>
internal interface IOverlappedRegions
{
    Tensor? Enter(nn.Module region, Tensor x);
    Tensor? Leave(nn.Module region, Tensor output);
}

/// <summary>
/// Async tensor parallel (parallelism.enable_async_tensor_parallel, over sequence parallel): overlaps the
/// sequence all-gather with the column-wise matmuls that consume it and the row-wise matmul with the
/// reduce-scatter after it, by cutting the work into pieces along the sequence whose collectives run on the
/// communication thread while other pieces multiply (see <see cref="ChunkedGather"/>, <see cref="ChunkedScatter"/>);
/// backward overlaps the same way. Same results as plain TP up to summation order.
/// Applied after TP shards the weights and after converters (Float8) installed their kernels: each layer's
/// existing <see cref="LinearLayer.Kernel"/> (null = F.linear) is the matmul run on every piece. The column-wise
/// layers of a region (wq, wk, wv; w1, w3) share one chunked gather. The region's module sees a placeholder of
/// the gathered shape whose values are never read: its column-wise layers must be its input's only consumers, as
/// in the Llama model.
/// </summary>
internal sealed class AsyncTensorParallel : IOverlappedRegions, IDisposable
{
    /// <summary>Pieces of the other ranks' rows per collective (this rank's own rows are one more piece, first).</summary>
    public const int DefaultPieces = 2;

    private readonly TensorParallel _tp;
    private readonly SequencePieces _where;
    private readonly Dictionary<nn.Module, Region> _regions = new(ReferenceEqualityComparer.Instance);
    private readonly List<(LinearLayer Layer, ILinearKernel? Inner)> _wrapped = [];

    private AsyncTensorParallel(Transformer model, TensorParallel tp, int pieces)
    {
        if (!tp.Options.SequenceParallel)
            throw new InvalidOperationException("async tensor parallel needs sequence parallel (TensorParallel.Validate checks the config)");
        _tp = tp;
        _where = new SequencePieces(tp.Group, pieces);
        foreach (var layer in model.layers)
        {
            var a = layer.attention;
            var f = layer.feed_forward;
            AddRegion(a, [a.wq, a.wk, a.wv], a.wo);
            AddRegion(f, [f.w1, f.w3], f.w2);
        }
        if (model.output is { } output) AddRegion(output, [output], null);
        tp.OverlappedRegions = this;
    }

    /// <summary>Wraps the TP-sharded model's projections (call after converters); Dispose restores them.</summary>
    public static AsyncTensorParallel Apply(Transformer model, TensorParallel tp, int pieces = DefaultPieces) => new(model, tp, pieces);

    private void AddRegion(nn.Module module, LinearLayer[] columnWise, LinearLayer? rowWise)
    {
        var region = new Region(_where);
        _regions[module] = region;
        foreach (var layer in columnWise) Wrap(layer, inner => new GatheredInputKernel(region, inner));
        if (rowWise != null) Wrap(rowWise, inner => new ScatteredOutputKernel(region, inner));
    }

    private void Wrap(LinearLayer layer, Func<ILinearKernel?, ILinearKernel> kernel)
    {
        _wrapped.Add((layer, layer.Kernel));
        layer.Kernel = kernel(layer.Kernel);
    }

    Tensor? IOverlappedRegions.Enter(nn.Module module, Tensor x) => _regions.TryGetValue(module, out var r) ? r.Enter(x) : null;

    Tensor? IOverlappedRegions.Leave(nn.Module module, Tensor output) => _regions.TryGetValue(module, out var r) ? r.Leave(output) : null;

    public void Dispose()
    {
        if (ReferenceEquals(_tp.OverlappedRegions, this)) _tp.OverlappedRegions = null;
        foreach (var (layer, inner) in _wrapped) layer.Kernel = inner;
        _wrapped.Clear();
        foreach (var r in _regions.Values) r.EndForward();
        _where.Dispose();
    }

    internal static Tensor Linear(ILinearKernel? inner, Tensor x, Tensor w) => inner?.Apply(x, w) ?? F.linear(x, w);

    /// <summary>One region's collectives between its input hook and its output hook.</summary>
    internal sealed class Region(SequencePieces where)
    {
        public SequencePieces Where { get; } = where;
        public ChunkedGather? Input { get; private set; }
        public ChunkedScatter? Output { get; set; }

        public Tensor Enter(Tensor x)
        {
            EndForward();
            Input = new ChunkedGather(Where, x);
            return Input.Placeholder;
        }

        public Tensor? Leave(Tensor output)
        {
            var scatter = Output;
            EndForward();
            return scatter != null && scatter.Placeholder.Handle == output.Handle ? scatter.Finish() : null;
        }

        public void EndForward()
        {
            Input?.EndForward();
            Input = null;
            Output = null;
        }
    }
}

/// <summary>
/// A column-wise layer of an async-TP region: y = gather(x) Wᵀ as own rows first (no communication), then each
/// gathered piece of the other ranks' rows, joined in sequence order [B, S, out]. Any other input (no region open)
/// runs the inner matmul as it is.
/// </summary>
internal sealed class GatheredInputKernel(AsyncTensorParallel.Region region, ILinearKernel? inner) : ILinearKernel
{
    public ILinearKernel? Inner => inner;

    public Tensor Apply(Tensor input, Tensor weight)
    {
        if (region.Input is not { } gather || gather.Placeholder.Handle != input.Handle) return AsyncTensorParallel.Linear(inner, input, weight);
        int tp = region.Where.Group.Size, rank = region.Where.Group.Rank;
        long batch = gather.Local.shape[0];
        var own = AsyncTensorParallel.Linear(inner, gather.Local, weight);
        var pieces = new Tensor[gather.Pieces.Length];
        for (int c = 0; c < pieces.Length; c++)
        {
            var rows = gather.OthersRows(c); // [tp - 1, B, n, D]
            var y = AsyncTensorParallel.Linear(inner, rows.flatten(0, 1), weight);
            pieces[c] = y.reshape(tp - 1, batch, gather.Pieces[c].Count, y.shape[^1]);
        }
        var others = pieces.Length == 1 ? pieces[0] : cat(pieces, 2); // [tp - 1, B, S/tp, out]
        var blocks = new Tensor[tp];
        for (int r = 0; r < tp; r++) blocks[r] = r == rank ? own : others.select(0, r < rank ? r : r - 1);
        return cat(blocks, 1);
    }
}

/// <summary>
/// The row-wise layer of an async-TP region: the other ranks' rows of each piece are multiplied and their
/// reduce-scatter started, then this rank's own rows; returns the region's placeholder, which the region's output
/// hook turns into own + reduced pieces (<see cref="ChunkedScatter.Finish"/>).
/// </summary>
internal sealed class ScatteredOutputKernel(AsyncTensorParallel.Region region, ILinearKernel? inner) : ILinearKernel
{
    public ILinearKernel? Inner => inner;

    public Tensor Apply(Tensor input, Tensor weight)
    {
        int tp = region.Where.Group.Size, rank = region.Where.Group.Rank;
        if (region.Input is not { } gather || input.dim() != 3 || input.shape[1] != gather.Local.shape[1] * tp)
            return AsyncTensorParallel.Linear(inner, input, weight);
        long batch = input.shape[0], local = gather.Local.shape[1], features = input.shape[2];
        var blocks = input.view(batch, tp, local, features);
        var others = blocks.index_select(1, region.Where.OtherRanks); // [B, tp - 1, S/tp, in]
        ChunkedScatter? scatter = null;
        for (int c = 0; c < gather.Pieces.Length; c++)
        {
            var (start, count) = gather.Pieces[c];
            var rows = others.narrow(2, start, count).reshape(batch, (tp - 1) * count, features);
            var y = AsyncTensorParallel.Linear(inner, rows, weight);
            scatter ??= new ChunkedScatter(region.Where, gather.Pieces, [batch, local * tp, y.shape[^1]], y.dtype, y.device);
            scatter.Add(c, y.reshape(batch, tp - 1, count, y.shape[^1]));
        }
        scatter!.AddOwn(AsyncTensorParallel.Linear(inner, blocks.select(1, rank), weight));
        region.Output = scatter;
        return scatter.Placeholder;
    }
}
