using System.Diagnostics;

namespace SharpTitan.Metrics;

/// <summary>
/// A one-line progress display for long operations (downloads, checkpoint saves, conversions):
/// `label [#####     ] 45.0% 12.3/27.0 MB 10.1 MB/s`, redrawn in place at most every 200 ms. With no output
/// (not a terminal) it stays silent; callers print their own summary line.
/// </summary>
internal sealed class ProgressBar(TextWriter? output, string label, long? totalBytes, long startBytes = 0)
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly long _start = startBytes;
    private long _done = startBytes;
    private long _lastDraw = -1;

    /// <summary>A bar on standard error when it is a terminal, else a silent one.</summary>
    public static ProgressBar ForConsole(string label, long? totalBytes, long startBytes = 0) =>
        new(Console.IsErrorRedirected ? null : Console.Error, label, totalBytes, startBytes);

    public void Add(long bytes)
    {
        _done += bytes;
        long tick = _clock.ElapsedMilliseconds / 200;
        if (tick != _lastDraw) { _lastDraw = tick; Draw(); }
    }

    /// <summary>Draws the final state and ends the line.</summary>
    public void Finish()
    {
        if (output == null) return;
        Draw();
        output.WriteLine();
    }

    private void Draw()
    {
        if (output == null) return;
        double seconds = _clock.Elapsed.TotalSeconds;
        double mbps = seconds > 0 ? (_done - _start) / seconds / 1e6 : 0;
        string bar = totalBytes is long t && t > 0
            ? $"[{new string('#', (int)(30 * Math.Min(_done, t) / t)).PadRight(30)}] {100.0 * _done / t,5:F1}% {_done / 1e6:F1}/{t / 1e6:F1} MB"
            : $"{_done / 1e6:F1} MB";
        output.Write($"\r{label} {bar} {mbps:F1} MB/s");
        output.Flush();
    }
}
