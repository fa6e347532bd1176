namespace SharpTitan.Config;

/// <summary>lr_scheduler.decay_type: the shape of the decay phase over its progress p in [0, 1].</summary>
public enum LrDecayType
{
    /// <summary>1 - p.</summary>
    Linear,
    /// <summary>1 - sqrt(p).</summary>
    Sqrt,
    /// <summary>(1 + cos(pi p)) / 2.</summary>
    Cosine,
}
