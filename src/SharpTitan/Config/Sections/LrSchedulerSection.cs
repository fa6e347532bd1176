namespace SharpTitan.Config;

/// <summary>[lr_scheduler]: warmup, then stable and decay phases.</summary>
public sealed class LrSchedulerSection
{
    [Doc("Steps of linear warmup to the peak lr.")]
    [Range(0, int.MaxValue)] public int WarmupSteps { get; set; } = 200;
    /// <summary>Share of steps spent decaying (warmup-stable-decay); unset = decay right after warmup.</summary>
    [Doc("Share of the steps spent decaying at the end (warmup-stable-decay); unset = decay right after warmup.")]
    [Range(0, 1)] public double? DecayRatio { get; set; }
    [Doc("Shape of the decay: \"linear\", \"sqrt\" or \"cosine\".")]
    public LrDecayType DecayType { get; set; } = LrDecayType.Linear;
    [Doc("The lr at the end of decay, as a share of the peak lr.")]
    [Range(0, 1)] public double MinLrFactor { get; set; }
}
