using SharpTitan.Distributed;
using SharpTitan.Float8;
using static TorchSharp.torch;

namespace SharpTitan.Parallel;

/// <summary>
/// One FSDP unit's all-gather with float8.enable_fsdp_float8_all_gather (torchao's tensorwise recipe): the
/// weights of float8 linears travel as e4m3 bytes (half the bytes of bf16), each with one scale from its amax over
/// all shards (all-reduced (max) over the shard group, and over the TP group by <see cref="IFloat8AllGather"/>);
/// every rank computes the same scales, so only the bytes move. The other parameters (norms) travel in the compute
/// dtype: each rank packs its pieces of them into a fixed-size slot. After the gather the float8 weights go to
/// their kernels, and the unit's parameters hold their dequantized values. The weights are cast from their
/// compute-dtype values, as the kernel itself would cast them, so the float8 weights are the same either way.
/// </summary>
internal sealed class FsdpFloat8Gather : IDisposable
{
    private sealed record Piece(int Entry, long FlatStart, long Count);

    private readonly IReadOnlyList<(string Name, long[] Shape, long Offset, long Numel)> _entries;
    private readonly int[] _float8Entries;
    private readonly IProcessGroup _shard;
    private readonly long _shardNumel;
    private readonly ScalarType _dtype;
    private readonly IFloat8AllGather _sink;
    private readonly Piece[][] _highPrecisionPieces; // per rank, in flat order
    private readonly long _slot;
    private Tensor? _scales, _bytes, _bytesInput, _highPrecision, _highPrecisionInput;
    private IWork? _bytesWork, _highPrecisionWork;
    private readonly List<Float8Tensor> _handedOut = [];

    public bool ScalesPrecomputed { get; set; }
    /// <summary>Bytes one gather brings to each rank (its own part included).</summary>
    public long BytesPerGather { get; }

    public FsdpFloat8Gather(IReadOnlyList<(string Name, long[] Shape, long Offset, long Numel)> entries, IProcessGroup shard,
        long shardNumel, ScalarType dtype, IFloat8AllGather sink)
    {
        (_entries, _shard, _shardNumel, _dtype, _sink) = (entries, shard, shardNumel, dtype, sink);
        _float8Entries = Enumerable.Range(0, entries.Count).Where(i => sink.GathersInFloat8(entries[i].Name)).ToArray();
        var highPrecision = Enumerable.Range(0, entries.Count).Except(_float8Entries).ToArray();
        _highPrecisionPieces = Enumerable.Range(0, shard.Size).Select(r => PiecesOf(highPrecision, r).ToArray()).ToArray();
        _slot = _highPrecisionPieces.Max(p => p.Sum(x => x.Count));
        using var probe = empty(0, dtype);
        BytesPerGather = shard.Size * (_shardNumel + _slot * probe.ElementSize);
    }

    /// <summary>The parts of the given entries that lie in rank <paramref name="rank"/>'s shard.</summary>
    private IEnumerable<Piece> PiecesOf(IEnumerable<int> entries, int rank)
    {
        long lo = rank * _shardNumel, hi = lo + _shardNumel;
        foreach (int i in entries)
        {
            long start = Math.Max(lo, _entries[i].Offset), end = Math.Min(hi, _entries[i].Offset + _entries[i].Numel);
            if (end > start) yield return new Piece(i, start, end - start);
        }
    }

    /// <summary>Per float8 weight, max |value| over this rank's part of it (0 for none), float32.</summary>
    public Tensor LocalAmaxes(Tensor shard)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var amaxes = zeros(_float8Entries.Length, ScalarType.Float32, device: _shard.Device);
        var own = PiecesOf(_float8Entries, _shard.Rank).ToDictionary(p => p.Entry);
        for (int j = 0; j < _float8Entries.Length; j++)
            if (own.TryGetValue(_float8Entries[j], out var p))
                amaxes[j] = Float8Cast.Amax(ShardPiece(shard, p).to(_dtype));
        return amaxes.MoveToOuterDisposeScope();
    }

    /// <summary>Scales from the weights' global amaxes (as <see cref="LocalAmaxes"/> reduced over every rank).</summary>
    public void SetAmaxes(Tensor globalAmaxes)
    {
        _scales?.Dispose();
        _scales = Float8Cast.ScaleFromAmax(globalAmaxes, Float8Format.E4M3).DetachFromDisposeScope();
    }

    /// <summary>Reduces the amaxes (unless precomputed), casts this rank's part and starts both all-gathers.</summary>
    public void Start(Tensor shard, bool async)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        if (_scales is null)
        {
            var amaxes = LocalAmaxes(shard);
            _shard.AllReduce(amaxes, ReduceOp.Max);
            _sink.ReduceWeightAmaxes(amaxes);
            SetAmaxes(amaxes);
        }
        var bytesInput = zeros(_shardNumel, Float8Format.E4M3.Dtype, device: _shard.Device);
        long ownStart = _shard.Rank * _shardNumel;
        foreach (var p in PiecesOf(_float8Entries, _shard.Rank))
        {
            int j = Array.IndexOf(_float8Entries, p.Entry);
            using var q = Float8Cast.Quantize(ShardPiece(shard, p).to(_dtype), _scales![j], Float8Format.E4M3);
            bytesInput.narrow(0, p.FlatStart - ownStart, p.Count).copy_(q.Data);
        }
        var highPrecisionInput = zeros(_slot, _dtype, device: _shard.Device);
        long packed = 0;
        foreach (var p in _highPrecisionPieces[_shard.Rank])
        {
            highPrecisionInput.narrow(0, packed, p.Count).copy_(ShardPiece(shard, p));
            packed += p.Count;
        }
        _bytesInput = bytesInput.DetachFromDisposeScope();
        _highPrecisionInput = highPrecisionInput.DetachFromDisposeScope();
        _bytes = empty(_shard.Size * _shardNumel, Float8Format.E4M3.Dtype, device: _shard.Device).DetachFromDisposeScope();
        _highPrecision = empty(_shard.Size * _slot, _dtype, device: _shard.Device).DetachFromDisposeScope();
        if (async)
        {
            _bytesWork = _shard.AllGatherAsync(_bytes, _bytesInput);
            _highPrecisionWork = _shard.AllGatherAsync(_highPrecision, _highPrecisionInput);
        }
        else
        {
            _shard.AllGather(_bytes, _bytesInput);
            _shard.AllGather(_highPrecision, _highPrecisionInput);
        }
    }

    /// <summary>Waits for the gathers and fills <paramref name="gathered"/> (the unit's flat buffer, compute dtype).</summary>
    public void Finish(Tensor gathered)
    {
        _bytesWork?.Wait();
        _highPrecisionWork?.Wait();
        _bytesWork = _highPrecisionWork = null;
        _bytesInput!.Dispose();
        _highPrecisionInput!.Dispose();
        _bytesInput = _highPrecisionInput = null;
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        for (int j = 0; j < _float8Entries.Length; j++)
        {
            var e = _entries[_float8Entries[j]];
            var weight = new Float8Tensor(_bytes!.narrow(0, e.Offset, e.Numel).view(e.Shape), _scales![j], Float8Format.E4M3).Detached();
            gathered.narrow(0, e.Offset, e.Numel).view(e.Shape).copy_(Float8Cast.Dequantize(weight, _dtype));
            _handedOut.Add(weight);
            _sink.SetGathered(e.Name, weight);
        }
        for (int r = 0; r < _shard.Size; r++)
        {
            long packed = r * _slot;
            foreach (var p in _highPrecisionPieces[r])
            {
                gathered.narrow(0, p.FlatStart, p.Count).copy_(_highPrecision!.narrow(0, packed, p.Count));
                packed += p.Count;
            }
        }
    }

    /// <summary>Takes the float8 weights back from the kernels and frees the gathered bytes.</summary>
    public void Free()
    {
        foreach (int i in _float8Entries) _sink.SetGathered(_entries[i].Name, null);
        foreach (var w in _handedOut) w.Dispose();
        _handedOut.Clear();
        _bytes?.Dispose();
        _highPrecision?.Dispose();
        _bytes = _highPrecision = null;
        if (!ScalesPrecomputed)
        {
            _scales?.Dispose();
            _scales = null;
        }
    }

    private Tensor ShardPiece(Tensor shard, Piece p) => shard.detach().narrow(0, p.FlatStart - _shard.Rank * _shardNumel, p.Count);

    public void Dispose()
    {
        _bytesWork?.Wait();
        _highPrecisionWork?.Wait();
        Free();
        _bytesInput?.Dispose();
        _highPrecisionInput?.Dispose();
        _scales?.Dispose();
    }
}
