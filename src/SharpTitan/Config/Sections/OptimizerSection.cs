namespace SharpTitan.Config;

/// <summary>[optimizer]: AdamW / Adam settings.</summary>
public sealed class OptimizerSection
{
    [Doc("\"AdamW\" (decoupled weight decay) or \"Adam\" (L2 decay added to the gradient).")]
    public OptimizerName Name { get; set; } = OptimizerName.AdamW;
    [Doc("Peak learning rate (the schedule scales it).")]
    [Range(0, 10)] public double Lr { get; set; } = 8e-4;
    [Doc("Decay rate of the gradient's running mean.")]
    [Range(0, 1)] public double Beta1 { get; set; } = 0.9;
    [Doc("Decay rate of the squared gradient's running mean.")]
    [Range(0, 1)] public double Beta2 { get; set; } = 0.95;
    [Doc("Added to the denominator for numerical stability.")]
    [Range(0, 1)] public double Eps { get; set; } = 1e-8;
    [Doc("Weight decay coefficient.")]
    [Range(0, 10)] public double WeightDecay { get; set; } = 0.1;
    /// <summary>
    /// SharpTitan's AdamW updates one parameter after another: that is "for-loop", so it is the default here
    /// (torchtitan's default "fused" and "foreach" are refused as not built).
    /// </summary>
    [Doc("How the optimizer runs over the parameters: \"for-loop\" (SharpTitan's one implementation, so the default here); \"fused\" (torchtitan's default) and \"foreach\" are not built.")]
    public OptimizerImplementation Implementation { get; set; } = OptimizerImplementation.ForLoop;
    [Doc("Step each parameter as soon as its gradient is ready, freeing gradients early (not built).")]
    public bool EarlyStepInBackward { get; set; }
}
