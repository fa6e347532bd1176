using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace SharpTitan.Metrics;

/// <summary>
/// Records named spans (data wait, forward, backward, optimizer, collectives...) as Chrome trace events
/// (chrome://tracing, Perfetto). Off unless a profiling window is open, where a span costs two timestamps.
/// Process-wide so code that knows nothing of the trainer (collectives) can record spans too.
/// </summary>
internal static class Tracer
{
    private static readonly Stopwatch Clock = Stopwatch.StartNew();
    /// <summary>The wall-clock time (Unix microseconds) at which <see cref="Clock"/> read zero: lines up ranks' traces.</summary>
    private static readonly double OriginUnixUs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000.0 - Clock.Elapsed.TotalMicroseconds;
    private static readonly ConcurrentQueue<TraceEvent> Events = new();
    private static volatile bool _active;

    internal readonly record struct TraceEvent(string Name, string Category, double StartUs, double DurationUs, int ThreadId);

    public static bool Active => _active;

    /// <param name="operators">Also record every libtorch operator (<see cref="Native.OpRecorder"/>) as a span of category "op".</param>
    public static void Start(bool operators = false)
    {
        Events.Clear();
        _active = true;
        if (operators)
            Native.OpRecorder.Start((name, start, duration) => Events.Enqueue(new TraceEvent(name, "op", start, duration, Environment.CurrentManagedThreadId)),
                () => Clock.Elapsed.TotalMicroseconds);
    }

    /// <summary>A span from now until the returned value is disposed (nothing when no window is open).</summary>
    public static Span Begin(string name, string category = "step") => new(name, category);

    /// <summary>Stops recording and writes the events as a Chrome trace JSON file.</summary>
    public static void StopAndWrite(string path, int rank)
    {
        Native.OpRecorder.Stop();
        _active = false;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var sb = new StringBuilder();
        sb.Append($"{{\"displayTimeUnit\":\"ms\",\"otherData\":{{\"clock_origin_unix_us\":{OriginUnixUs:F0}}},\"traceEvents\":[");
        sb.Append($"{{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":{rank},\"args\":{{\"name\":\"rank {rank}\"}}}}");
        foreach (var e in Events.OrderBy(e => e.StartUs))
            sb.Append($",{{\"name\":{JsonSerializer.Serialize(e.Name)},\"cat\":{JsonSerializer.Serialize(e.Category)},\"ph\":\"X\"," +
                      $"\"ts\":{e.StartUs:F1},\"dur\":{e.DurationUs:F1},\"pid\":{rank},\"tid\":{e.ThreadId}}}");
        sb.Append("]}");
        File.WriteAllText(path, sb.ToString());
        Events.Clear();
    }

    internal readonly struct Span : IDisposable
    {
        private readonly string? _name;
        private readonly string _category;
        private readonly double _start;

        internal Span(string name, string category)
        {
            _name = _active ? name : null;
            _category = category;
            _start = _name != null ? Clock.Elapsed.TotalMicroseconds : 0;
        }

        public void Dispose()
        {
            if (_name == null || !_active) return;
            double end = Clock.Elapsed.TotalMicroseconds;
            Events.Enqueue(new TraceEvent(_name, _category, _start, end - _start, Environment.CurrentManagedThreadId));
        }
    }
}
