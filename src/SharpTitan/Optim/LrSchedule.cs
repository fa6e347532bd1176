namespace SharpTitan.Optim;

/// <summary>
/// torchtitan's linear warmup, stable, decay schedule: a factor on the base lr for the 0-based step index.
/// Warmup: (step + 1) / (warmup + 1). Stable: 1. Decay over decay_steps = round(steps x decay_ratio), or all
/// steps after warmup when decay_ratio is unset, as linear 1 - p, sqrt 1 - sqrt(p) or cosine (1 + cos(pi p)) / 2,
/// then lifted to min_lr_factor + (1 - min_lr_factor) x that.
/// </summary>
public sealed class LrSchedule
{
    private readonly int _warmup, _stable, _decay;
    private readonly string _decayType;
    private readonly double _minLr;

    public LrSchedule(int trainingSteps, int warmupSteps, double? decayRatio, string decayType, double minLrFactor)
    {
        int warmup = warmupSteps;
        int decay;
        if (decayRatio is double r)
        {
            decay = (int)Math.Round(trainingSteps * r, MidpointRounding.ToEven);
            if (warmup + decay > trainingSteps) warmup = trainingSteps - decay;
        }
        else decay = trainingSteps - warmup;
        _warmup = Math.Max(warmup, 0);
        _decay = Math.Max(decay, 1);
        _stable = trainingSteps + 1 - _warmup - decay;
        _decayType = decayType;
        _minLr = minLrFactor;
    }

    public double Factor(int step)
    {
        if (step < _warmup) return (step + 1.0) / (_warmup + 1.0);
        if (step < _warmup + _stable) return 1.0;
        double progress = (double)(step - _warmup - _stable) / _decay;
        double adj = _decayType switch
        {
            "linear" => 1 - progress,
            "sqrt" => 1 - Math.Sqrt(progress),
            "cosine" => 0.5 * (1 + Math.Cos(Math.PI * progress)),
            _ => throw new ArgumentException($"unknown decay type {_decayType}"),
        };
        return _minLr + (1 - _minLr) * adj;
    }
}
