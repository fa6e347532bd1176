namespace SharpTitan.Config;

/// <summary>optimizer.name, spelled as torch's classes.</summary>
public enum OptimizerName
{
    /// <summary>Adam with decoupled weight decay.</summary>
    [ConfigName("AdamW")] AdamW,
    /// <summary>Adam with L2 weight decay added to the gradient.</summary>
    [ConfigName("Adam")] Adam,
}
