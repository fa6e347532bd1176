namespace SharpTitan.Metrics;

/// <summary>
/// torchtitan's profiling cadence: in every cycle of profile_freq steps the last profiler_active steps are
/// traced, and the trace is written after the cycle's last step. (profiler_warmup exists for torch.profiler's
/// warm-up; the span tracer needs none, so it only shortens nothing here.)
/// </summary>
internal sealed class ProfilingSchedule(int freq, int active)
{
    private readonly int _active = Math.Min(active, freq);

    /// <summary>True when step (1-based) is traced.</summary>
    public bool Records(int step) => (step - 1) % freq + 1 > freq - _active;

    /// <summary>True when the trace is written after this step.</summary>
    public bool WritesAfter(int step) => step % freq == 0;
}
