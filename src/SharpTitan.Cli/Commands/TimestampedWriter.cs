using System.Globalization;
using System.Text;

namespace SharpTitan.Cli.Commands;

/// <summary>
/// Writes each line to <paramref name="inner"/> after its UTC time (`2026-11-30T01:22:33.123Z `, the time the line
/// began), as a rank's log file carries it. Not thread-safe by itself (the train verb synchronizes its log).
/// </summary>
public sealed class TimestampedWriter(TextWriter inner, Func<DateTime>? clock = null) : TextWriter
{
    private readonly Func<DateTime> _clock = clock ?? (() => DateTime.UtcNow);
    private bool _lineStart = true;

    public override Encoding Encoding => inner.Encoding;

    public override void Write(char value) => Write(value.ToString());

    public override void Write(string? value)
    {
        for (int start = 0; start < (value?.Length ?? 0);)
        {
            if (_lineStart) inner.Write(_clock().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z' ", CultureInfo.InvariantCulture));
            int newline = value!.IndexOf('\n', start);
            int end = newline < 0 ? value.Length : newline + 1;
            inner.Write(value.AsSpan(start, end - start));
            _lineStart = newline >= 0;
            start = end;
        }
    }

    public override void WriteLine(string? value) => Write(value + NewLine);

    public override void WriteLine() => Write(NewLine);

    public override void Flush() => inner.Flush();

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }
}
