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
    };

    private static readonly string[] NotBuilt = ["InterleavedZeroBubble", "ZBVZeroBubble", "DualPipeV"];

    public static PipelineSchedule Parse(string name)
    {
        if (Built.TryGetValue(name, out var s)) return s;
        var key = "'parallelism.pipeline_parallel_schedule'";
        if (NotBuilt.Contains(name, StringComparer.OrdinalIgnoreCase))
            throw new ConfigException($"{key} = \"{name}\" is not built yet in SharpTitan (built: {string.Join(", ", Built.Keys.Select(k => $"\"{k}\""))})");
        throw new ConfigException($"{key} = \"{name}\": expected one of {string.Join(", ", Built.Keys.Concat(NotBuilt).Select(k => $"\"{k}\""))}");
    }

    /// <summary>True for schedules that run several stages per rank.</summary>
    public static bool IsMultiStage(this PipelineSchedule s) => s is PipelineSchedule.Interleaved1F1B or PipelineSchedule.LoopedBFS;

    public static string Name(this PipelineSchedule s) => Built.First(p => p.Value == s).Key;
}
