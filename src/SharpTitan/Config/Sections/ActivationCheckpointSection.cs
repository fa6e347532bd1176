namespace SharpTitan.Config;

/// <summary>[activation_checkpoint]: which blocks recompute in backward.</summary>
public sealed class ActivationCheckpointSection
{
    [Doc("Activations recomputed in backward: \"none\", \"full\" (every block) or \"selective\" (see selective_ac_option).")]
    public ActivationCheckpointMode Mode { get; set; } = ActivationCheckpointMode.Selective;
    /// <summary>"op" for per-op selective AC, or an integer N to checkpoint every Nth block.</summary>
    [Doc("With mode \"selective\": an integer N (every Nth block recomputes) or \"op\" (only cheap ops recompute).")]
    public string SelectiveAcOption { get; set; } = "2";
}
