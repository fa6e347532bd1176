namespace SharpTitan.Metrics;

/// <summary>Process resident memory from /proc (native libtorch memory is invisible to the GC, RSS is not).</summary>
internal static class ProcessMemory
{
    public static long RssBytes() => ReadStatusKb("VmRSS:") * 1024;
    public static long PeakRssBytes() => ReadStatusKb("VmHWM:") * 1024;

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
