using SharpTitan.Distributed;
using SharpTitan.Float8;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SharpTitan.Parallel;

/// <summary>
/// FSDP / HSDP / DDP of one pp rank's stages over its data-parallel ranks, sharded over dp_shard_cp (averaged across
/// dp_replicate), in <see cref="FsdpUnit"/>s as FSDP makes them: one per transformer block and one (the root) for the
/// rest (embedding, final norm, output), so a block's float8 weights travel alone. As torchtitan's default under
/// pipeline parallel (reshard_after_forward off), the parameters are gathered once per local batch, stay gathered
/// through every micro-batch's forward and backward, and their accumulated gradients are reduce-scattered (fp32)
/// at the end of it; then the parameters are freed until the next gather.
/// </summary>
internal sealed class StageSharding : IDisposable
{
    private readonly List<FsdpUnit> _units;
    private readonly IProcessGroup _shardGroup;
    private readonly IFloat8AllGather? _float8;
    private bool _scalesStale;

    /// <summary>This rank's fp32 shards of its stages' parameters, one per unit (the optimizer's tensors).</summary>
    public IReadOnlyList<Tensor> Shards { get; }
    public bool OwnsShard { get; }
    public long TotalParameters => _units.Sum(u => u.Numel);
    /// <summary>Bytes of parameter all-gathers received so far (its own part included).</summary>
    public long AllGatherBytes => _units.Sum(u => u.AllGatherBytes);

    /// <param name="parameters">The stages' parameters, already in the compute dtype.</param>
    /// <param name="fullValues">Their fp32 values flattened in order (identical on every data-parallel rank).</param>
    /// <param name="beforeReduce">Runs on each parameter's gradient before the reduce-scatter (TP: sums partial norm gradients).</param>
    /// <param name="float8">Float8 weights to gather as float8 (float8.enable_fsdp_float8_all_gather), else null.</param>
    /// <param name="precomputeFloat8Scales">float8.precompute_float8_dynamic_scale_for_fsdp: scales from one all-reduce after each optimizer step.</param>
    public StageSharding(IReadOnlyList<(string Name, Parameter Param)> parameters, Tensor fullValues, DeviceMesh mesh, ScalarType computeDtype, bool overlap,
        Action<string, Tensor>? beforeReduce, IFloat8AllGather? float8 = null, bool precomputeFloat8Scales = false)
    {
        _shardGroup = mesh.DpShardCp;
        var offsets = new long[parameters.Count];
        for (int i = 1; i < parameters.Count; i++) offsets[i] = offsets[i - 1] + parameters[i - 1].Param.numel();
        _units = parameters.Select((p, i) => (p, i)).GroupBy(x => UnitOf(x.p.Name)).Select(g =>
        {
            using var scope = NewDisposeScope();
            using var values = cat(g.Select(x => fullValues.narrow(0, offsets[x.i], x.p.Param.numel())).ToList(), 0);
            var unit = new FsdpUnit(g.Key, g.Select(x => x.p).ToList(), values, mesh.DpShardCp, mesh.DpReplicate, computeDtype, overlap, beforeReduce, float8);
            if (unit.Float8 is { } f) f.ScalesPrecomputed = precomputeFloat8Scales;
            return unit;
        }).ToList();
        Shards = _units.Select(u => u.Shard).ToList();
        (_float8, _scalesStale) = (precomputeFloat8Scales ? float8 : null, precomputeFloat8Scales);
        OwnsShard = mesh.DpReplicate.Rank == 0;
    }

    /// <summary>"layers.3" for a block's parameters, "root" for the others.</summary>
    private static string UnitOf(string name)
    {
        if (!name.StartsWith("layers.", StringComparison.Ordinal)) return "root";
        int dot = name.IndexOf('.', "layers.".Length);
        return name[..dot];
    }

    /// <summary>Gathers the stages' parameters (with float8 scales precomputed when they are stale).</summary>
    public void Gather()
    {
        if (_scalesStale) ParametersUpdated();
        foreach (var u in _units) u.StartGather();
        foreach (var u in _units) u.Gather();
    }

    /// <summary>After an optimizer step: the float8 weights' scales for the next gather, when precomputed.</summary>
    public void ParametersUpdated()
    {
        if (_float8 == null) return;
        Float8ScalePrecompute.Run(_units, _shardGroup, _float8);
        _scalesStale = false;
    }

    /// <summary>After the local batch's backwards: gradients reduced into each shard's grad, parameters freed.</summary>
    public void ReduceAndFree()
    {
        foreach (var u in _units) u.StartReduceFromParameterGrads();
        foreach (var u in _units) u.FinishReduce();
        Free();
    }

    public void Free()
    {
        foreach (var u in _units) u.Free();
    }

    /// <summary>A local share of the squared gradient norm summed over the shard group (replicas hold copies).</summary>
    public double SumOverShards(double local)
    {
        using var t = tensor(new[] { local }, ScalarType.Float64, device: _shardGroup.Device);
        _shardGroup.AllReduce(t);
        return t.item<double>();
    }

    /// <summary>Each parameter's gradient slice in this rank's shards (after <see cref="ReduceAndFree"/>).</summary>
    public IEnumerable<(string Name, Tensor Grad)> ShardGradients()
    {
        foreach (var u in _units)
        {
            if (u.Shard.grad is not { } g) continue;
            foreach (var (name, start, count) in u.ShardSegments()) yield return (name, g.narrow(0, start, count));
        }
    }

    /// <summary>
    /// The pieces of global tensors in <paramref name="likeShards"/> (the shards or a moment laid out as they are); padding is
    /// never a piece. <paramref name="place"/> maps a local shape to the global shape and block (TP); <paramref name="skip"/> leaves parameters out.
    /// </summary>
    public IEnumerable<StatePiece> StatePieces(string prefix, IReadOnlyList<Tensor> likeShards, Func<string, long[], (long[] Shape, TensorBlock? Block)> place,
        Func<string, bool> skip)
    {
        for (int i = 0; i < _units.Count; i++)
        {
            var unit = _units[i];
            var flat = likeShards[i].detach();
            long start = unit.ShardStart, end = start + unit.ShardNumel;
            foreach (var (name, shape, offset, numel) in unit.Layout)
            {
                long lo = Math.Max(start, offset), hi = Math.Min(end, offset + numel);
                if (lo >= hi || skip(name)) continue;
                var (global, block) = place(name, shape);
                yield return new StatePiece(prefix + name, global, flat, lo - start, lo - offset, hi - lo, block);
            }
        }
    }

    /// <summary>The stages' full fp32 parameters by name (collective over the shard group).</summary>
    public IReadOnlyDictionary<string, Tensor> FullParameters() =>
        _units.SelectMany(u => u.FullParameters()).ToDictionary(p => p.Name, p => p.Value);

    public string Describe(int pp) =>
        $"pipeline x data parallel: pp rank {pp} shards {TotalParameters:N0} stage parameters in {_units.Count} unit(s) over {_shardGroup.Size} rank(s) " +
        $"({_units.Sum(u => u.ShardNumel):N0} each), gathered once per local batch and reduce-scattered after its backwards";

    public void Dispose()
    {
        foreach (var u in _units) u.Dispose();
    }
}
