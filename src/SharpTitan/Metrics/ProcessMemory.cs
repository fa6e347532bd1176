namespace SharpTitan.Metrics;

/// <summary>Process resident memory from /proc (native libtorch memory is invisible to the GC, RSS is not).</summary>
internal static class ProcessMemory
{
    private static long _peakBeforeReset;

    public static long RssBytes() => ReadStatusKb("VmRSS:") * 1024;

    /// <summary>The process's peak resident memory since it started.</summary>
    public static long PeakRssBytes() => Math.Max(Interlocked.Read(ref _peakBeforeReset), WindowPeakRssBytes());

    /// <summary>The peak resident memory since the last <see cref="ResetPeakRss"/> (the kernel's VmHWM).</summary>
    public static long WindowPeakRssBytes() => ReadStatusKb("VmHWM:") * 1024;

    /// <summary>
    /// Starts a new peak window: Linux resets VmHWM to the current RSS when "5" is written to /proc/self/clear_refs.
    /// The process-lifetime peak is kept for <see cref="PeakRssBytes"/>. Where the file cannot be written the window
    /// simply keeps growing (the figure is then the peak since the start).
    /// </summary>
    public static void ResetPeakRss()
    {
        long window = WindowPeakRssBytes();
        long seen;
        do seen = Interlocked.Read(ref _peakBeforeReset);
        while (window > seen && Interlocked.CompareExchange(ref _peakBeforeReset, window, seen) != seen);
        try { File.WriteAllText("/proc/self/clear_refs", "5"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    public static long MachineBytes()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/meminfo"))
                if (line.StartsWith("MemTotal:")) return ParseKb(line) * 1024;
        }
        catch (IOException) { }
        return GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
    }

    private static long ReadStatusKb(string field)
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith(field)) return ParseKb(line);
        }
        catch (IOException) { }
        return Environment.WorkingSet / 1024;
    }

    private static long ParseKb(string line) =>
        long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
}
