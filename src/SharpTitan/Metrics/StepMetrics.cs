namespace SharpTitan.Metrics;

/// <summary>What one log line reports (torchtitan's figures, plus lr and data-wait share).</summary>
public sealed record StepMetrics(
    int Step,
    double Loss,
    double GradNorm,
    double Lr,
    double RssGiB,
    double RssPercent,
    double TokensPerSecond,
    double Tflops,
    double? MfuPercent,
    double DataWaitPercent,
    double ElapsedSeconds,
    int TotalSteps);
