using System.Diagnostics;

namespace SharpTitan.Metrics;

/// <summary>
/// Counts tokens and data-wait time between log lines and turns them into torchtitan's figures:
/// tokens/s per device = tokens since last log / (seconds x non-data-parallel degree);
/// TFLOP/s = FLOPs per token x tokens/s; MFU = that / peak.
/// </summary>
/// <param name="memory">The device memory the line reports (default: the host's).</param>
internal sealed class ThroughputMeter(double flopsPerToken, double peakTflops, int nonDataParallelSize, DeviceMemory? memory = null)
{
    private readonly Stopwatch _sinceLog = Stopwatch.StartNew();
    private readonly Stopwatch _sinceStart = Stopwatch.StartNew();
    private long _tokens, _totalTokens;
    private double _dataWaitSeconds;

    public void AddTokens(long tokens)
    {
        _tokens += tokens;
        _totalTokens += tokens;
    }

    public void AddDataWait(double seconds) => _dataWaitSeconds += seconds;

    public StepMetrics Snapshot(int step, int totalSteps, double loss, double gradNorm, double lr, bool reportMfu = true)
    {
        double seconds = Math.Max(_sinceLog.Elapsed.TotalSeconds, 1e-9);
        var rates = RatesOf(_tokens, seconds, reportMfu);
        double dataWait = 100 * _dataWaitSeconds / seconds;
        var device = memory ?? DeviceMemory.For(Native.ComputeDevice.Cpu);
        long used = device.PeakBytes();
        device.ResetPeak();
        var m = new StepMetrics(step, loss, gradNorm, lr, used / (double)(1L << 30),
            100.0 * used / device.CapacityBytes(), rates.TokensPerSecond, rates.Tflops, rates.MfuPercent, dataWait, _sinceStart.Elapsed.TotalSeconds, totalSteps);
        _tokens = 0;
        _dataWaitSeconds = 0;
        _sinceLog.Restart();
        return m;
    }

    /// <summary>The figures of every token counted so far over <paramref name="seconds"/> (a run's wall time).</summary>
    public Rates Mean(double seconds, bool reportMfu = true) => RatesOf(_totalTokens, Math.Max(seconds, 1e-9), reportMfu);

    private Rates RatesOf(long tokens, double seconds, bool reportMfu)
    {
        double tps = tokens / (seconds * nonDataParallelSize);
        double tflops = flopsPerToken * tps / 1e12;
        return new Rates(tps, tflops, reportMfu && peakTflops > 0 ? 100 * tflops / peakTflops : null);
    }
}

/// <summary>Tokens/s per device, TFLOP/s per device and MFU (null when not reported).</summary>
internal readonly record struct Rates(double TokensPerSecond, double Tflops, double? MfuPercent);
