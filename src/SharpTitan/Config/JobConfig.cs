namespace SharpTitan.Config;

/// <summary>The whole job: one property per TOML section, named as torchtitan names them.</summary>
public sealed class JobConfig
{
    public JobSection Job { get; set; } = new();
    public ModelSection Model { get; set; } = new();
    public OptimizerSection Optimizer { get; set; } = new();
    public LrSchedulerSection LrScheduler { get; set; } = new();
    public TrainingSection Training { get; set; } = new();
    public ParallelismSection Parallelism { get; set; } = new();
    public CheckpointSection Checkpoint { get; set; } = new();
    public ActivationCheckpointSection ActivationCheckpoint { get; set; } = new();
    public Float8Section Float8 { get; set; } = new();
    public MetricsSection Metrics { get; set; } = new();
    public ProfilingSection Profiling { get; set; } = new();
    public CommSection Comm { get; set; } = new();
    public DebugSection Debug { get; set; } = new();
    public ValidationSection Validation { get; set; } = new();
    public CompileSection Compile { get; set; } = new();
}
