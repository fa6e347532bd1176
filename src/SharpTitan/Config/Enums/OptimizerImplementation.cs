namespace SharpTitan.Config;

/// <summary>optimizer.implementation: how torch runs the optimizer over the parameters.</summary>
public enum OptimizerImplementation
{
    /// <summary>One fused kernel over all parameters (torchtitan's default; not built in SharpTitan).</summary>
    Fused,
    /// <summary>torch._foreach_* ops over lists of tensors (not built in SharpTitan).</summary>
    Foreach,
    /// <summary>One parameter after another: SharpTitan's AdamW.</summary>
    [ConfigName("for-loop")] ForLoop,
}
