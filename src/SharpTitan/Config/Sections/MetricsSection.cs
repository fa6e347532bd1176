namespace SharpTitan.Config;

/// <summary>[metrics]: logging frequency, TensorBoard, the MFU peak.</summary>
public sealed class MetricsSection
{
    [Doc("Steps between metrics lines.")]
    [Range(1, int.MaxValue)] public int LogFreq { get; set; } = 10;
    [Doc("Write TensorBoard event files.")]
    public bool EnableTensorboard { get; set; }
    [Doc("Plain console lines, without colours.")]
    public bool DisableColorPrinting { get; set; }
    [Doc("TensorBoard folder, under job.dump_folder.")]
    public string SaveTbFolder { get; set; } = "tb";
    [Doc("Every rank writes its own metrics (else rank 0 only).")]
    public bool SaveForAllRanks { get; set; }
    [Doc("Log to Weights & Biases (not built).")]
    public bool EnableWandb { get; set; }
    /// <summary>Peak TFLOP/s for MFU; -1 = the datasheet (GPU) or the measured, cached peak (CPU).</summary>
    [Doc("Peak TFLOP/s for MFU; -1 = the datasheet (GPU) or the measured, cached peak (CPU); not in torchtitan.")]
    [Range(-1, double.MaxValue)] public double PeakTflops { get; set; } = -1;
}
