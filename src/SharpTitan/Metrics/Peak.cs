namespace SharpTitan.Metrics;

/// <summary>The peak FLOP/s that MFU divides by, and where it came from.</summary>
public sealed record Peak(double TflopsPerSecond, string Source);
