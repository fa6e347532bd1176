using SharpTitan.Distributed;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SharpTitan.Parallel;

/// <summary>
/// FSDP / HSDP / DDP of one pp rank's stages over its data-parallel ranks: all of the rank's stage parameters form
/// one <see cref="FsdpUnit"/> sharded over dp_shard_cp (averaged across dp_replicate). As torchtitan's default under
/// pipeline parallel (reshard_after_forward off), the parameters are gathered once per local batch, stay gathered
/// through every micro-batch's forward and backward, and their accumulated gradients are reduce-scattered (fp32)
/// at the end of it; then the parameters are freed until the next gather.
/// </summary>
internal sealed class StageSharding : IDisposable
{
    private readonly FsdpUnit _unit;
    private readonly IProcessGroup _shardGroup;

    /// <summary>This rank's fp32 shard of its stages' parameters (the optimizer's one tensor).</summary>
    public Tensor Shard => _unit.Shard;
    public bool OwnsShard { get; }
    public long TotalParameters => _unit.Numel;
    /// <summary>Bytes of parameter all-gathers received so far (its own part included).</summary>
    public long AllGatherBytes => _unit.AllGatherBytes;

    /// <param name="parameters">The stages' parameters, already in the compute dtype.</param>
    /// <param name="fullValues">Their fp32 values flattened in order (identical on every data-parallel rank).</param>
    /// <param name="beforeReduce">Runs on each parameter's gradient before the reduce-scatter (TP: sums partial norm gradients).</param>
    public StageSharding(IReadOnlyList<(string Name, Parameter Param)> parameters, Tensor fullValues, DeviceMesh mesh, ScalarType computeDtype, bool overlap,
        Action<string, Tensor>? beforeReduce)
    {
        _shardGroup = mesh.DpShardCp;
        _unit = new FsdpUnit("stages", parameters, fullValues, mesh.DpShardCp, mesh.DpReplicate, computeDtype, overlap, beforeReduce);
        OwnsShard = mesh.DpReplicate.Rank == 0;
    }

    public void Gather() => _unit.Gather();

    /// <summary>After the local batch's backwards: gradients reduced into <see cref="Shard"/>.grad, parameters freed.</summary>
    public void ReduceAndFree()
    {
        _unit.StartReduceFromParameterGrads();
        _unit.FinishReduce();
        _unit.Free();
    }

    public void Free() => _unit.Free();

    /// <summary>A local share of the squared gradient norm summed over the shard group (replicas hold copies).</summary>
    public double SumOverShards(double local)
    {
        using var t = tensor(new[] { local }, ScalarType.Float64, device: _shardGroup.Device);
        _shardGroup.AllReduce(t);
        return t.item<double>();
    }

    /// <summary>Each parameter's gradient slice in this rank's shard (after <see cref="ReduceAndFree"/>).</summary>
    public IEnumerable<(string Name, Tensor Grad)> ShardGradients()
    {
        if (Shard.grad is not { } g) yield break;
        foreach (var (name, start, count) in _unit.ShardSegments()) yield return (name, g.narrow(0, start, count));
    }

    /// <summary>
    /// The pieces of global tensors in <paramref name="likeShard"/> (the shard or a moment laid out as it); padding is
    /// never a piece. <paramref name="place"/> maps a local shape to the global shape and block (TP); <paramref name="skip"/> leaves parameters out.
    /// </summary>
    public IEnumerable<StatePiece> StatePieces(string prefix, Tensor likeShard, Func<string, long[], (long[] Shape, TensorBlock? Block)> place,
        Func<string, bool> skip)
    {
        var flat = likeShard.detach();
        long start = _unit.ShardStart, end = start + _unit.ShardNumel;
        foreach (var (name, shape, offset, numel) in _unit.Layout)
        {
            long lo = Math.Max(start, offset), hi = Math.Min(end, offset + numel);
            if (lo >= hi || skip(name)) continue;
            var (global, block) = place(name, shape);
            yield return new StatePiece(prefix + name, global, flat, lo - start, lo - offset, hi - lo, block);
        }
    }

    /// <summary>The stages' full fp32 parameters by name (collective over the shard group).</summary>
    public IReadOnlyDictionary<string, Tensor> FullParameters() => _unit.FullParameters().ToDictionary(p => p.Name, p => p.Value);

    public string Describe(int pp) =>
        $"pipeline x data parallel: pp rank {pp} shards {_unit.Numel:N0} stage parameters over {_shardGroup.Size} rank(s) " +
        $"({_unit.ShardNumel:N0} each), gathered once per local batch and reduce-scattered after its backwards";

    public void Dispose() => _unit.Dispose();
}
