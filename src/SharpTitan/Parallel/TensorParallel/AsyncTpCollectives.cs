using SharpTitan.Distributed;
using SharpTitan.Native;
using static TorchSharp.torch;

namespace SharpTitan.Parallel;

/// <summary>
/// A collective queued on the communication thread with the buffers it reads and writes, kept alive until it
/// finished. <see cref="Take"/> waits (counted as TP communication time: the part compute did not hide) and hands
/// the output to the caller.
/// </summary>
internal sealed class PendingCollective(IWork work, Tensor input, Tensor output) : IDisposable
{
    private bool _taken;

    public static PendingCollective AllGather(IProcessGroup group, Tensor input)
    {
        var output = empty([group.Size, .. input.shape], input.dtype, device: input.device).DetachFromDisposeScope();
        return new PendingCollective(group.AllGatherAsync(output, input), input, output);
    }

    /// <param name="input">[tp, ...]: rank r's block first in rank order.</param>
    public static PendingCollective ReduceScatter(IProcessGroup group, Tensor input)
    {
        var output = empty(input.shape.Skip(1).ToArray(), input.dtype, device: input.device).DetachFromDisposeScope();
        return new PendingCollective(group.ReduceScatterAsync(output, input), input, output);
    }

    /// <summary>Pieces taken from collectives joined along the sequence (dim 1) as one tensor of the current scope; disposes them.</summary>
    public static Tensor InSequenceOrder(Tensor[] pieces)
    {
        var joined = pieces.Length == 1 ? pieces[0].alias() : cat(pieces, 1);
        foreach (var p in pieces) p.Dispose();
        return joined;
    }

    public Tensor Take()
    {
        TpComm.Time(work.Wait);
        input.Dispose();
        _taken = true;
        return output;
    }

    public void Dispose()
    {
        if (_taken) return;
        work.Wait();
        input.Dispose();
        output.Dispose();
        _taken = true;
    }
}

/// <summary>
/// Where a region's sequence shards sit: this rank, the other ranks (in rank order) as an index, and the pieces
/// the local shard of <c>Local</c> tokens is cut into along the sequence (dim 1) for pipelining.
/// </summary>
internal sealed class SequencePieces : IDisposable
{
    public IProcessGroup Group { get; }
    /// <summary>The other ranks of the TP group in rank order (a long index over the rank dimension).</summary>
    public Tensor OtherRanks { get; }
    private readonly int _pieces;

    public SequencePieces(IProcessGroup group, int pieces)
    {
        Group = group;
        _pieces = pieces;
        OtherRanks = tensor(Enumerable.Range(0, group.Size).Where(r => r != group.Rank).Select(r => (long)r).ToArray(), device: group.Device).DetachFromDisposeScope();
    }

    /// <summary>[start, count) of each piece of a local shard of <paramref name="local"/> tokens (none empty).</summary>
    public (long Start, long Count)[] Of(long local)
    {
        long n = Math.Min(_pieces, local);
        return Enumerable.Range(0, (int)n).Select(c => (c * local / n, (c + 1) * local / n - c * local / n)).ToArray();
    }

    /// <summary>[tp, ...] with the other ranks' rows from <paramref name="others"/> ([tp - 1, ...]) and zeros in this rank's row.</summary>
    public Tensor WithOwnRowZero(Tensor others)
    {
        var full = zeros([Group.Size, .. others.shape.Skip(1)], others.dtype, device: others.device);
        return full.index_copy_(0, OtherRanks, others);
    }

    public void Dispose() => OtherRanks.Dispose();
}

/// <summary>
/// The sequence-parallel all-gather of a column-wise region's input [B, S/tp, D], cut into pieces along the
/// sequence, each gathered on the communication thread (started at once, in order). The region's column-wise
/// layers multiply this rank's own rows (<see cref="Local"/>, no communication) while the pieces travel, then
/// each piece of the other ranks' rows as it arrives, received once and shared by all of them. In backward each
/// piece's input gradient (those rows' partial sums) is reduce-scattered as soon as autograd produced it, while the
/// earlier pieces' matmul backward runs; <see cref="GatherStartFunction"/> collects them.
/// </summary>
internal sealed class ChunkedGather
{
    private readonly SequencePieces _where;
    private readonly PendingCollective?[] _receiving;
    private readonly Tensor?[] _othersRows;
    private readonly PendingCollective?[] _gradients;
    private readonly long _batch, _dim;

    /// <summary>This rank's shard of the region input; the own-rows matmuls take it directly (autograd included).</summary>
    public Tensor Local { get; }
    /// <summary>What the region's module receives instead of the gathered input: its shape, no values.</summary>
    public Tensor Placeholder { get; }
    public (long Start, long Count)[] Pieces { get; }
    private readonly Tensor _token;

    public ChunkedGather(SequencePieces where, Tensor local)
    {
        if (local.dim() != 3) throw new InvalidOperationException($"async tensor parallel: expected a [batch, seq, dim] region input, got {local.dim()} dimensions");
        _where = where;
        Local = local;
        (_batch, _dim) = (local.shape[0], local.shape[2]);
        Pieces = where.Of(local.shape[1]);
        _receiving = new PendingCollective?[Pieces.Length];
        _othersRows = new Tensor?[Pieces.Length];
        _gradients = new PendingCollective?[Pieces.Length];
        using (var scope = NewDisposeScope())
        using (no_grad())
            for (int c = 0; c < Pieces.Length; c++)
            {
                var piece = local.detach().narrow(1, Pieces[c].Start, Pieces[c].Count).contiguous().DetachFromDisposeScope();
                _receiving[c] = PendingCollective.AllGather(where.Group, piece);
            }
        Placeholder = zeros(1, local.dtype, device: local.device).expand(_batch, local.shape[1] * where.Group.Size, _dim);
        _token = GatherStartFunction.Apply(local, this).DetachFromDisposeScope();
    }

    /// <summary>The other ranks' rows of piece <paramref name="c"/>, [tp - 1, B, n, D] (differentiable; waits for it once).</summary>
    public Tensor OthersRows(int c) =>
        _othersRows[c] ??= GatheredPieceFunction.Apply(_token, this, c).DetachFromDisposeScope();

    // GatheredPieceFunction.forward: the received piece's rows of the other ranks.
    internal Tensor Receive(int c)
    {
        using var all = _receiving[c]!.Take();
        _receiving[c] = null;
        return all.index_select(0, _where.OtherRanks);
    }

    // GatheredPieceFunction.backward: starts the reduce-scatter of piece c's input gradient (own row: zeros, as
    // this rank's own-rows gradient reaches Local directly).
    internal void StartGradient(int c, Tensor othersGrad)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var input = _where.WithOwnRowZero(othersGrad).DetachFromDisposeScope();
        _gradients[c] = PendingCollective.ReduceScatter(_where.Group, input);
    }

    // GatherStartFunction.backward: the other ranks' contribution to Local's gradient, [B, S/tp, D].
    internal Tensor CollectGradient()
    {
        var parts = new Tensor[_gradients.Length];
        for (int c = 0; c < parts.Length; c++)
        {
            var pending = _gradients[c] ?? throw new InvalidOperationException("async tensor parallel: a gathered piece got no gradient");
            parts[c] = pending.Take();
            _gradients[c] = null;
        }
        return PendingCollective.InSequenceOrder(parts);
    }

    /// <summary>The region's forward is over: frees what only forward needed (backward keeps its own references).</summary>
    public void EndForward()
    {
        for (int c = 0; c < Pieces.Length; c++)
        {
            _receiving[c]?.Dispose();
            _receiving[c] = null;
            _othersRows[c]?.Dispose();
            _othersRows[c] = null;
        }
        _token.Dispose();
    }
}

/// <summary>Starts nothing itself; links Local to the gathered pieces so backward can hand Local their gradients.</summary>
internal sealed class GatherStartFunction : LeanFunction<GatherStartFunction>
{
    public override string Name => "AsyncTpGatherStart";

    // vars: [local shard, ChunkedGather]
    protected override Tensor Forward(autograd.AutogradContext ctx, object[] vars)
    {
        ctx.save_data("gather", vars[1]);
        return zeros(1, device: ((Tensor)vars[0]).device);
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor tokenGrad) =>
        [((ChunkedGather)ctx.get_data("gather")).CollectGradient(), null!];
}

/// <summary>One gathered piece (the other ranks' rows): forward waits for it; backward reduce-scatters its gradient.</summary>
internal sealed class GatheredPieceFunction : LeanFunction<GatheredPieceFunction>
{
    public override string Name => "AsyncTpGatheredPiece";

    // vars: [token, ChunkedGather, piece index]
    protected override Tensor Forward(autograd.AutogradContext ctx, object[] vars)
    {
        ctx.save_data("gather", vars[1]);
        ctx.save_data("piece", vars[2]);
        return ((ChunkedGather)vars[1]).Receive((int)vars[2]);
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad)
    {
        ((ChunkedGather)ctx.get_data("gather")).StartGradient((int)ctx.get_data("piece"), grad);
        return [zeros(1, device: grad.device), null!, null!];
    }
}

/// <summary>
/// The sequence-parallel reduce-scatter of a row-wise layer's partial output, cut into the same pieces: the other
/// ranks' rows of piece c are multiplied and reduce-scattered (own row zero) while piece c + 1 multiplies, and
/// this rank's own rows last, while the last piece travels; the result is own + the reduced pieces. In backward
/// the output gradient's pieces are all-gathered on the communication thread while the own-rows matmul backward
/// runs (it needs no communication), each waited for just before its piece's matmul backward.
/// </summary>
internal sealed class ChunkedScatter
{
    private readonly SequencePieces _where;
    private readonly PendingCollective?[] _reducing;
    private readonly PendingCollective?[] _gradients;
    private readonly List<Tensor> _tokens = [];
    private Tensor? _own;

    public (long Start, long Count)[] Pieces { get; }
    /// <summary>What the row-wise layer returns to the module: the partial output's shape, no values.</summary>
    public Tensor Placeholder { get; }

    public ChunkedScatter(SequencePieces where, (long Start, long Count)[] pieces, long[] outputShape, ScalarType dtype, Device device)
    {
        _where = where;
        Pieces = pieces;
        _reducing = new PendingCollective?[pieces.Length];
        _gradients = new PendingCollective?[pieces.Length];
        Placeholder = zeros(1, dtype, device: device).expand(outputShape);
    }

    /// <summary>Piece c's partial sums for the other ranks' rows, [B, tp - 1, n, D]: starts their reduce-scatter.</summary>
    public void Add(int c, Tensor othersPartial) =>
        _tokens.Add(ScatterPieceFunction.Apply(othersPartial, this, c).DetachFromDisposeScope());

    /// <summary>This rank's own rows' partial sums [B, S/tp, D] (computed last, while the pieces travel).</summary>
    public void AddOwn(Tensor ownPartial) => _own = ownPartial.DetachFromDisposeScope();

    /// <summary>The region's output [B, S/tp, D]: own partial + the other ranks' reduced pieces.</summary>
    public Tensor Finish()
    {
        using var scope = NewDisposeScope();
        var reduced = ScatterFinishFunction.Apply([.. _tokens, this]);
        var result = _own!.add(reduced);
        foreach (var t in _tokens) t.Dispose();
        _tokens.Clear();
        _own.Dispose();
        _own = null;
        return result.MoveToOuterDisposeScope();
    }

    // ScatterPieceFunction.forward
    internal void StartReduce(int c, Tensor othersPartial)
    {
        using var scope = NewDisposeScope();
        var input = _where.WithOwnRowZero(othersPartial.transpose(0, 1)).DetachFromDisposeScope();
        _reducing[c] = PendingCollective.ReduceScatter(_where.Group, input);
    }

    // ScatterFinishFunction.forward: the reduced pieces in sequence order, [B, S/tp, D].
    internal Tensor CollectReduced()
    {
        var parts = new Tensor[_reducing.Length];
        for (int c = 0; c < parts.Length; c++)
        {
            parts[c] = _reducing[c]!.Take();
            _reducing[c] = null;
        }
        return PendingCollective.InSequenceOrder(parts);
    }

    // ScatterFinishFunction.backward: all-gathers the output gradient's pieces, last first (autograd asks for them
    // in that order).
    internal void StartGradients(Tensor grad)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        for (int c = Pieces.Length - 1; c >= 0; c--)
        {
            var piece = grad.narrow(1, Pieces[c].Start, Pieces[c].Count).contiguous().DetachFromDisposeScope();
            _gradients[c] = PendingCollective.AllGather(_where.Group, piece);
        }
    }

    // ScatterPieceFunction.backward: piece c's gradient for the other ranks' rows, [B, tp - 1, n, D].
    internal Tensor Gradient(int c)
    {
        using var all = _gradients[c]!.Take();
        _gradients[c] = null;
        return all.index_select(0, _where.OtherRanks).transpose(0, 1);
    }
}

/// <summary>Starts one piece's reduce-scatter; backward waits for that piece's gathered output gradient.</summary>
internal sealed class ScatterPieceFunction : LeanFunction<ScatterPieceFunction>
{
    public override string Name => "AsyncTpScatterPiece";

    // vars: [others' partial sums of piece c, ChunkedScatter, c]
    protected override Tensor Forward(autograd.AutogradContext ctx, object[] vars)
    {
        ctx.save_data("scatter", vars[1]);
        ctx.save_data("piece", vars[2]);
        ((ChunkedScatter)vars[1]).StartReduce((int)vars[2], (Tensor)vars[0]);
        return zeros(1, device: ((Tensor)vars[0]).device);
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor tokenGrad)
    {
        using var scope = NewDisposeScope();
        var grad = ((ChunkedScatter)ctx.get_data("scatter")).Gradient((int)ctx.get_data("piece"));
        return [grad.MoveToOuterDisposeScope(), null!, null!];
    }
}

/// <summary>Waits for the pieces' reduce-scatters; backward starts the all-gathers of the output gradient.</summary>
internal sealed class ScatterFinishFunction : LeanFunction<ScatterFinishFunction>
{
    public override string Name => "AsyncTpScatterFinish";

    // vars: [one token per piece..., ChunkedScatter]
    protected override Tensor Forward(autograd.AutogradContext ctx, object[] vars)
    {
        var scatter = (ChunkedScatter)vars[^1];
        ctx.save_data("scatter", scatter);
        return scatter.CollectReduced();
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad)
    {
        var scatter = (ChunkedScatter)ctx.get_data("scatter");
        scatter.StartGradients(grad);
        var grads = Enumerable.Range(0, scatter.Pieces.Length).Select(_ => zeros(1, device: grad.device)).ToList();
        grads.Add(null!);
        return grads;
    }
}
