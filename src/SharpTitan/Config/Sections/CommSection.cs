namespace SharpTitan.Config;

/// <summary>[comm]: timeouts of collectives between ranks.</summary>
public sealed class CommSection
{
    [Doc("Seconds a collective may take until the first training step ends; past it the job aborts.")]
    [Range(1, int.MaxValue)] public int InitTimeoutSeconds { get; set; } = 300;
    [Doc("Seconds a collective may take during training; past it the job aborts.")]
    [Range(1, int.MaxValue)] public int TrainTimeoutSeconds { get; set; } = 100;
    /// <summary>torchtitan's default is 20000; SharpTitan has no flight recorder yet, so 0 here and above 0 is refused.</summary>
    [Doc("Entries of the collectives' flight recorder; 0 = off (torchtitan's default 20000; not built, so 0 here).")]
    [Range(0, int.MaxValue)] public int TraceBufSize { get; set; }
}
