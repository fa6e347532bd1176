using SharpTitan.Distributed;
using SharpTitan.Float8;
using static TorchSharp.torch;

namespace SharpTitan.Parallel;

/// <summary>
/// torchao's precompute_float8_dynamic_scale_for_fsdp: the scales of every float8 weight that FSDP units gather in
/// float8, from one all-reduce (max) of their amaxes over the shard group (and the TP group through the sink).
/// Call on every rank of the shard group after each optimizer step.
/// </summary>
internal static class Float8ScalePrecompute
{
    public static void Run(IEnumerable<FsdpUnit> units, IProcessGroup shardGroup, IFloat8AllGather sink)
    {
        var gathers = units.Where(u => u.Float8 != null).ToList();
        if (gathers.Count == 0) return;
        using var scope = NewDisposeScope();
        var locals = gathers.Select(u => u.Float8!.LocalAmaxes(u.Shard)).ToList();
        var amaxes = cat(locals, 0);
        shardGroup.AllReduce(amaxes, ReduceOp.Max);
        sink.ReduceWeightAmaxes(amaxes);
        long offset = 0;
        for (int i = 0; i < gathers.Count; i++)
        {
            long n = locals[i].shape[0];
            gathers[i].Float8!.SetAmaxes(amaxes.narrow(0, offset, n));
            offset += n;
        }
    }
}
