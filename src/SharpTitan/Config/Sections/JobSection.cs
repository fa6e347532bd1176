namespace SharpTitan.Config;

/// <summary>[job]: where a run writes and how it is labelled.</summary>
public sealed class JobSection
{
    [Doc("Folder for the job's outputs: metrics.jsonl, TensorBoard files, traces, checkpoints, rank logs.")]
    public string DumpFolder { get; set; } = "./outputs";
    [Doc("Free text naming the job; shown in the printed config.")]
    public string Description { get; set; } = "default job";
    [Doc("Print the effective config at the start of training (rank 0).")]
    public bool PrintConfig { get; set; }
}
