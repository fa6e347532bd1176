using System.Diagnostics;

namespace SharpTitan.Parallel;

/// <summary>
/// Wall time this process spent in context-parallel attention (forward and backward, transfers included) and, of
/// that, blocked on key/value transfers: the all-gathers and reduce-scatters of <c>allgather</c>, the waits for a
/// ring step's keys/values or gradients of <c>alltoall</c> (the part of a transfer that computation did not hide).
/// Cumulative counters: a reader takes the difference of two <see cref="Read"/>s.
/// </summary>
public static class ContextParallelTimes
{
    private static long _attentionTicks, _waitTicks;

    /// <summary>(time in CP attention, time of it blocked on transfers) since the process started.</summary>
    public static (TimeSpan Attention, TimeSpan Waiting) Read() =>
        (TimeSpan.FromTicks(Interlocked.Read(ref _attentionTicks)), TimeSpan.FromTicks(Interlocked.Read(ref _waitTicks)));

    /// <summary>Adds the time since <paramref name="startTimestamp"/> (a <see cref="Stopwatch"/> timestamp) to the attention time.</summary>
    internal static void AddAttention(long startTimestamp) =>
        Interlocked.Add(ref _attentionTicks, Stopwatch.GetElapsedTime(startTimestamp).Ticks);

    /// <summary>Adds the time since <paramref name="startTimestamp"/> to the transfer wait.</summary>
    internal static void AddWait(long startTimestamp) =>
        Interlocked.Add(ref _waitTicks, Stopwatch.GetElapsedTime(startTimestamp).Ticks);

    /// <summary>Runs a blocking collective, counting its time as transfer wait.</summary>
    internal static void Waiting(Action collective)
    {
        long start = Stopwatch.GetTimestamp();
        collective();
        AddWait(start);
    }
}
