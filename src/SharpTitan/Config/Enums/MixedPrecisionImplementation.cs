namespace SharpTitan.Config;

/// <summary>training.mixed_precision_impl: single-process mixed precision (not in torchtitan).</summary>
public enum MixedPrecisionImplementation
{
    /// <summary>The model holds low-precision copies of the parameters; the optimizer updates fp32 masters.</summary>
    MasterCopy,
    /// <summary>libtorch's CPU autocast over fp32 parameters.</summary>
    Autocast,
}
