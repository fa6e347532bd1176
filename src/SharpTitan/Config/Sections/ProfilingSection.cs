namespace SharpTitan.Config;

/// <summary>[profiling]: traces and memory snapshots.</summary>
public sealed class ProfilingSection
{
    [Doc("Trace steps into Chrome trace files.")]
    public bool EnableProfiling { get; set; }
    [Doc("Trace folder, under job.dump_folder.")]
    public string SaveTracesFolder { get; set; } = "profile_traces";
    [Doc("Steps per profiling cycle; each cycle's trace is written after its last step.")]
    [Range(1, int.MaxValue)] public int ProfileFreq { get; set; } = 10;
    [Doc("torch.profiler's warm-up steps before tracing; no effect here (the span tracer needs no warm-up).")]
    [Range(0, int.MaxValue)] public int ProfilerWarmup { get; set; } = 3;
    [Doc("Steps traced at the end of each cycle.")]
    [Range(1, int.MaxValue)] public int ProfilerActive { get; set; } = 1;
    [Doc("Traces also hold every libtorch operator (and autograd node) with its time, as torch.profiler's do; not in torchtitan (its traces always have them).")]
    public bool RecordOperators { get; set; } = true;
    [Doc("Record each rank's memory use into snapshot files.")]
    public bool EnableMemorySnapshot { get; set; }
    [Doc("Memory snapshot folder, under job.dump_folder.")]
    public string SaveMemorySnapshotFolder { get; set; } = "memory_snapshot";
    [Doc("Steps between memory snapshots.")]
    [Range(1, int.MaxValue)] public int MemorySnapshotFreq { get; set; } = 10;
}
