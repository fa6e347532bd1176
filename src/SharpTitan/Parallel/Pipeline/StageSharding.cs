using SharpTitan.Distributed;
using SharpTitan.Optim;
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

    /// <param name="parameters">The stages' parameters, already in the compute dtype.</param>
    /// <param name="fullValues">Their fp32 values flattened in order (identical on every data-parallel rank).</param>
    public StageSharding(IReadOnlyList<(string Name, Parameter Param)> parameters, Tensor fullValues, DeviceMesh mesh, ScalarType computeDtype, bool overlap)
    {
        _shardGroup = mesh.DpShardCp;
        _unit = new FsdpUnit("stages", parameters, fullValues, mesh.DpShardCp, mesh.DpReplicate, computeDtype, overlap);
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

    /// <summary>The squared norm of the shard gradients summed over the shard group (replicas hold copies).</summary>
    public double SumOfSquares()
    {
        using var t = tensor(new[] { GradientClipping.LocalSumOfSquares([Shard]) }, ScalarType.Float64, device: _shardGroup.Device);
        _shardGroup.AllReduce(t);
        return t.item<double>();
    }

    /// <summary>The pieces of global tensors in <paramref name="likeShard"/> (the shard or a moment laid out as it); padding is never a piece.</summary>
    public IEnumerable<StatePiece> StatePieces(string prefix, Tensor likeShard)
    {
        var flat = likeShard.detach();
        long start = _unit.ShardStart, end = start + _unit.ShardNumel;
        foreach (var (name, shape, offset, numel) in _unit.Layout)
        {
            long lo = Math.Max(start, offset), hi = Math.Min(end, offset + numel);
            if (lo < hi) yield return new StatePiece(prefix + name, shape, flat, lo - start, lo - offset, hi - lo);
        }
    }

    /// <summary>The stages' full fp32 parameters by name (collective over the shard group).</summary>
    public IReadOnlyDictionary<string, Tensor> FullParameters() => _unit.FullParameters().ToDictionary(p => p.Name, p => p.Value);

    public string Describe(int pp) =>
        $"pipeline x data parallel: pp rank {pp} shards {_unit.Numel:N0} stage parameters over {_shardGroup.Size} rank(s) " +
        $"({_unit.ShardNumel:N0} each), gathered once per local batch and reduce-scattered after its backwards";

    public void Dispose() => _unit.Dispose();
}
