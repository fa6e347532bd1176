namespace SharpTitan.Config;

/// <summary>parallelism.fsdp_reshard_after_forward: which FSDP blocks free their gathered parameters after forward.</summary>
public enum ReshardPolicy
{
    /// <summary>Every block except the last one (torchtitan without pipeline parallelism).</summary>
    Default,
    /// <summary>Every block.</summary>
    Always,
    /// <summary>No block: gathered parameters live from forward to backward.</summary>
    Never,
}
