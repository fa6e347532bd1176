namespace SharpTitan.Config;

/// <summary>activation_checkpoint.mode: which activations are recomputed in backward instead of kept.</summary>
public enum ActivationCheckpointMode
{
    /// <summary>Nothing is recomputed.</summary>
    None,
    /// <summary>Every block recomputes its forward.</summary>
    Full,
    /// <summary>Every Nth block, or cheap ops only ("op"), per activation_checkpoint.selective_ac_option.</summary>
    Selective,
}
