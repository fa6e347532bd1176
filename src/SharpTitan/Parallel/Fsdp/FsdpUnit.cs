using SharpTitan.Distributed;
using SharpTitan.Float8;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SharpTitan.Parallel;

/// <summary>
/// One FSDP unit: the parameters of some modules flattened (in order) into one fp32 buffer, zero-padded to a
/// multiple of the shard group size; this rank keeps only its slice (<see cref="Shard"/>, the tensor the
/// optimizer updates; its .grad receives the averaged gradient slice). The modules' own Parameter objects are
/// kept but hold no memory between uses: <see cref="Gather"/> points them (Tensor.set_) at views of an
/// all-gathered buffer in the compute dtype, <see cref="Free"/> points them at an empty tensor again.
/// </summary>
internal sealed class FsdpUnit : IDisposable
{
    private sealed record Entry(string Name, Parameter Param, long[] Shape, long Offset, long Numel);

    private readonly Entry[] _entries;
    private readonly IProcessGroup _shard, _replicate;
    private readonly ScalarType _computeDtype;
    private readonly bool _async;
    private readonly Action<string, Tensor>? _beforeReduce;
    private readonly Tensor _empty;
    private Tensor? _gathered, _gatherInput;
    private IWork? _gatherWork;
    private readonly List<(IWork? Work, Tensor Input, Tensor Output)> _reductions = [];
    private readonly FsdpFloat8Gather? _float8;

    public string Name { get; }
    public long Numel { get; }
    public long PaddedNumel { get; }
    public long ShardNumel { get; }
    /// <summary>This rank's fp32 slice of the flat parameters (a leaf; the optimizer's tensor).</summary>
    public Tensor Shard { get; }
    public bool IsGathered { get; private set; }
    public IEnumerable<Parameter> Parameters => _entries.Select(e => e.Param);
    /// <summary>Where each parameter lies in the unit's flat buffer (checkpoints map it to global tensors).</summary>
    public IEnumerable<(string Name, long[] Shape, long Offset, long Numel)> Layout => _entries.Select(e => (e.Name, e.Shape, e.Offset, e.Numel));
    /// <summary>The flat index of this rank's first shard element.</summary>
    public long ShardStart => _shard.Rank * ShardNumel;
    /// <summary>Bytes all-gathers have brought to this rank so far (its own part included).</summary>
    public long AllGatherBytes { get; private set; }
    /// <summary>The float8 all-gather of the unit's float8 weights (float8.enable_fsdp_float8_all_gather), else null.</summary>
    internal FsdpFloat8Gather? Float8 => _float8;

    /// <param name="parameters">The unit's parameters, already in the compute dtype.</param>
    /// <param name="fullValues">Their full fp32 values, flattened in the same order (identical on every rank).</param>
    /// <param name="float8">Float8 weights to gather as float8 (see <see cref="FsdpFloat8Gather"/>).</param>
    public FsdpUnit(string name, IReadOnlyList<(string Name, Parameter Param)> parameters, Tensor fullValues,
        IProcessGroup shard, IProcessGroup replicate, ScalarType computeDtype, bool async, Action<string, Tensor>? beforeReduce = null,
        IFloat8AllGather? float8 = null)
    {
        Name = name;
        (_shard, _replicate, _computeDtype, _async, _beforeReduce) = (shard, replicate, computeDtype, async, beforeReduce);
        long offset = 0;
        var entries = new List<Entry>();
        foreach (var (n, p) in parameters)
        {
            entries.Add(new Entry(n, p, p.shape, offset, p.numel()));
            offset += p.numel();
        }
        _entries = [.. entries];
        Numel = offset;
        if (fullValues.numel() != Numel) throw new ArgumentException($"FSDP unit {name}: {fullValues.numel()} values for {Numel} parameters");
        ShardNumel = (Numel + shard.Size - 1) / shard.Size;
        PaddedNumel = ShardNumel * shard.Size;
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            var shardValues = zeros(ShardNumel, ScalarType.Float32, device: shard.Device);
            long start = shard.Rank * ShardNumel, count = Math.Clamp(Numel - start, 0, ShardNumel);
            if (count > 0) shardValues.narrow(0, 0, count).copy_(fullValues.narrow(0, start, count));
            Shard = shardValues.requires_grad_(true).DetachFromDisposeScope();
        }
        _empty = empty(0, _computeDtype, device: shard.Device).DetachFromDisposeScope();
        if (float8 != null && _entries.Any(e => float8.GathersInFloat8(e.Name)))
            _float8 = new FsdpFloat8Gather(Layout.ToList(), shard, ShardNumel, computeDtype, float8);
        Free();
    }

    /// <summary>Starts the all-gather of the full parameters (on the communication thread when async).</summary>
    public void StartGather()
    {
        if (IsGathered || _gathered is not null) return;
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        _gathered = empty(PaddedNumel, _computeDtype, device: _shard.Device).DetachFromDisposeScope();
        if (_float8 != null)
        {
            _float8.Start(Shard, _async);
            AllGatherBytes += _float8.BytesPerGather;
            return;
        }
        AllGatherBytes += PaddedNumel * _gathered.ElementSize;
        _gatherInput = (_computeDtype == ScalarType.Float32 ? Shard.detach() : Shard.to(_computeDtype)).DetachFromDisposeScope();
        if (_async) _gatherWork = _shard.AllGatherAsync(_gathered, _gatherInput);
        else _shard.AllGather(_gathered, _gatherInput);
    }

    /// <summary>Finishes the gather (starting it if needed) and points the parameters at the full values.</summary>
    public void Gather()
    {
        if (IsGathered) return;
        StartGather();
        if (_float8 != null) _float8.Finish(_gathered!);
        else
        {
            _gatherWork?.Wait();
            _gatherWork = null;
            _gatherInput!.Dispose();
            _gatherInput = null;
        }
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        foreach (var e in _entries) e.Param.set_(_gathered!.narrow(0, e.Offset, e.Numel).view(e.Shape));
        IsGathered = true;
    }

    /// <summary>Frees the gathered parameters: they point at an empty tensor until the next gather.</summary>
    public void Free()
    {
        using (var scope = NewDisposeScope())
        using (no_grad())
            foreach (var e in _entries) e.Param.set_(_empty);
        _float8?.Free();
        _gathered?.Dispose();
        _gathered = null;
        IsGathered = false;
    }

    /// <summary>
    /// Starts the reduce-scatter (average over the shard group, in fp32) of this unit's gradients, one per
    /// parameter in order (null = zero). <see cref="FinishReduce"/> adds the result to Shard.grad.
    /// </summary>
    public void StartReduce(IReadOnlyList<Tensor?> grads)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        // Each range is written once: the gradient where there is one, zeros for a missing one and the padding.
        var flat = empty(PaddedNumel, ScalarType.Float32, device: _shard.Device);
        for (int i = 0; i < _entries.Length; i++)
        {
            var range = flat.narrow(0, _entries[i].Offset, _entries[i].Numel);
            if (grads[i] is { } g && !g.IsInvalid) range.copy_(g.reshape(-1));
            else range.zero_();
        }
        if (PaddedNumel > Numel) flat.narrow(0, Numel, PaddedNumel - Numel).zero_();
        // Every entry, gradient or not: the hook may run collectives that all ranks must issue alike.
        if (_beforeReduce != null) foreach (var e in _entries) _beforeReduce(e.Name, flat.narrow(0, e.Offset, e.Numel));
        var output = empty(ShardNumel, ScalarType.Float32, device: _shard.Device);
        IWork? work = null;
        if (_async) work = _shard.ReduceScatterAsync(output, flat, ReduceOp.Avg);
        else _shard.ReduceScatter(output, flat, ReduceOp.Avg);
        _reductions.Add((work, flat.DetachFromDisposeScope(), output.DetachFromDisposeScope()));
    }

    /// <summary>The gradients the module's own parameters hold (the root unit uses plain autograd); clears them.</summary>
    public void StartReduceFromParameterGrads()
    {
        using var scope = NewDisposeScope();
        var grads = _entries.Select(e => e.Param.grad).ToList();
        StartReduce(grads);
        foreach (var e in _entries) e.Param.grad = null;
    }

    /// <summary>Waits for the reduce-scatters, averages across dp_replicate (HSDP/DDP) and accumulates into Shard.grad.</summary>
    public void FinishReduce()
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        foreach (var (work, input, output) in _reductions)
        {
            work?.Wait();
            input.Dispose();
            if (_replicate.Size > 1) _replicate.AllReduce(output, ReduceOp.Avg);
            var g = Shard.grad;
            if (g is null) Shard.grad = output;
            else g.add_(output);
            output.Dispose();
        }
        _reductions.Clear();
    }

    /// <summary>Which parameter each range of <see cref="Shard"/> belongs to: (name, start in the shard, count).</summary>
    public IEnumerable<(string Name, long Start, long Count)> ShardSegments()
    {
        long lo = _shard.Rank * ShardNumel, hi = lo + ShardNumel;
        foreach (var e in _entries)
        {
            long start = Math.Max(lo, e.Offset), end = Math.Min(hi, e.Offset + e.Numel);
            if (end > start) yield return (e.Name, start - lo, end - start);
        }
    }

    /// <summary>The full fp32 parameters by name, owned by the caller's dispose scope (a collective over the shard group).</summary>
    public IEnumerable<(string Name, Tensor Value)> FullParameters()
    {
        using var scope = NewDisposeScope();
        var full = empty(PaddedNumel, ScalarType.Float32, device: _shard.Device);
        using (no_grad()) _shard.AllGather(full, Shard.detach());
        var result = _entries.Select(e => (e.Name, full.narrow(0, e.Offset, e.Numel).view(e.Shape).clone().MoveToOuterDisposeScope())).ToList();
        return result;
    }

    public void Dispose()
    {
        _gatherWork?.Wait();
        Free();
        _float8?.Dispose();
        _gatherInput?.Dispose();
        foreach (var (work, input, output) in _reductions) { work?.Wait(); input.Dispose(); output.Dispose(); }
        _reductions.Clear();
        Shard.Dispose();
        _empty.Dispose();
    }
}
