using SharpTitan.Config;

namespace SharpTitan.Parallel;

/// <summary>The pipeline schedules built here, by torchtitan's (PyTorch's) names.</summary>
public enum PipelineSchedule
{
    /// <summary>Every micro-batch's forward, then every backward (one stage per rank).</summary>
    GPipe,
    /// <summary>One forward, one backward in the steady state, after a warm-up (one stage per rank).</summary>
    OneFOneB,
    /// <summary>1F1B over several stages per rank, assigned round-robin ("loop" style).</summary>
    Interleaved1F1B,
    /// <summary>Several stages per rank: every micro-batch's forward stage by stage, then the backwards in reverse.</summary>
    LoopedBFS,
    /// <summary>Interleaved 1F1B with the backward split into input (I) and weight (W) gradients, W filling the bubble (ZB1P; loop placement).</summary>
    InterleavedZeroBubble,
    /// <summary>Zero bubble on two stages per rank in a V (rank r holds stages r and 2p - 1 - r), I and W split.</summary>
    ZBVZeroBubble,
    /// <summary>DeepSeek's DualPipe on the V placement: forward of one micro-batch paired with the backward of another.</summary>
    DualPipeV,
}

/// <summary>Parses <c>parallelism.pipeline_parallel_schedule</c> (case-insensitive, as PyTorch's get_schedule_class).</summary>
public static class PipelineSchedules
{
    private static readonly Dictionary<string, PipelineSchedule> Built = new(StringComparer.OrdinalIgnoreCase)
    {
        ["GPipe"] = PipelineSchedule.GPipe,
        ["1F1B"] = PipelineSchedule.OneFOneB,
        ["Interleaved1F1B"] = PipelineSchedule.Interleaved1F1B,
        ["LoopedBFS"] = PipelineSchedule.LoopedBFS,
        ["InterleavedZeroBubble"] = PipelineSchedule.InterleavedZeroBubble,
        ["ZBVZeroBubble"] = PipelineSchedule.ZBVZeroBubble,
        ["DualPipeV"] = PipelineSchedule.DualPipeV,
    };

    private static readonly string[] NotBuilt = [];

    public static PipelineSchedule Parse(string name)
    {
        if (Built.TryGetValue(name, out var s)) return s;
        var key = "'parallelism.pipeline_parallel_schedule'";
        if (NotBuilt.Contains(name, StringComparer.OrdinalIgnoreCase))
            throw new ConfigException($"{key} = \"{name}\" is not built yet in SharpTitan (built: {string.Join(", ", Built.Keys.Select(k => $"\"{k}\""))})");
        throw new ConfigException($"{key} = \"{name}\": expected one of {string.Join(", ", Built.Keys.Concat(NotBuilt).Select(k => $"\"{k}\""))}");
    }

    /// <summary>True for schedules that run several stages per rank.</summary>
    public static bool IsMultiStage(this PipelineSchedule s) =>
        s is PipelineSchedule.Interleaved1F1B or PipelineSchedule.LoopedBFS or PipelineSchedule.InterleavedZeroBubble || s.IsVShaped();

    /// <summary>True for schedules with exactly two stages per rank placed in a V (rank r: stages r and 2p - 1 - r).</summary>
    public static bool IsVShaped(this PipelineSchedule s) => s is PipelineSchedule.ZBVZeroBubble or PipelineSchedule.DualPipeV;

    /// <summary>True for schedules that split backwards into I and W actions.</summary>
    public static bool SplitsBackward(this PipelineSchedule s) => s is PipelineSchedule.InterleavedZeroBubble || s.IsVShaped();

    public static string Name(this PipelineSchedule s) => Built.First(p => p.Value == s).Key;
}
