using System.Diagnostics;
using System.Text.Json;
using static TorchSharp.torch;

namespace SharpTitan.Metrics;

/// <summary>
/// Datasheet peaks for GPUs; on CPU there is no datasheet, so the peak is measured: the best rate of a large
/// square matmul of the training dtype on the configured threads, cached per machine, dtype and thread count.
/// </summary>
public static class PeakFlops
{
    /// <summary>Dense bf16 TFLOP/s from datasheets (torchtitan's table).</summary>
    public static IReadOnlyDictionary<string, double> GpuBf16Datasheet { get; } = new Dictionary<string, double>
    {
        ["A100"] = 312, ["H100 SXM"] = 989, ["H100 PCIe"] = 756, ["H100 NVL"] = 835, ["H200"] = 989, ["B200"] = 2250,
    };

    /// <param name="device">The job's device (default: the host). Only CPU peaks are measured; a GPU's needs its datasheet.</param>
    public static Peak Resolve(double configured, ScalarType dtype, int threads, string? cacheDir = null, Device? device = null)
    {
        if (configured > 0) return new Peak(configured, "metrics.peak_tflops");
        if (device != null && !Native.ComputeDevice.IsCpu(device))
            throw new NotSupportedException($"the MFU peak of {device}: set metrics.peak_tflops (datasheet lookup is not built yet)");
        string path = CachePath(dtype, threads, cacheDir);
        double cached = ReadCache(path);
        if (cached > 0) return new Peak(cached, $"measured {Name(dtype)} matmul on {threads} thread(s), cached in {path}");
        double measured = Record(path, Measure(dtype));
        return new Peak(measured, $"measured {Name(dtype)} matmul on {threads} thread(s) now, cached in {path}");
    }

    private static double ReadCache(string path)
    {
        try { return File.Exists(path) ? JsonSerializer.Deserialize<double>(File.ReadAllText(path)) : 0; }
        catch (JsonException) { return 0; }
    }

    /// <summary>
    /// Caches the higher of the cached and the new measurement and returns it: a machine busy with other work
    /// measures low, and a low peak would overstate MFU, so the best rate ever seen is the peak.
    /// </summary>
    public static double Record(string path, double measured)
    {
        double best = Math.Max(measured, ReadCache(path));
        Save(path, best);
        return best;
    }

    /// <summary>Best TFLOP/s of an n x n matmul over repeated timings (about a second of work).</summary>
    public static double Measure(ScalarType dtype, int n = 2048, double seconds = 1.0)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var a = randn(n, n).to(dtype);
        var b = randn(n, n).to(dtype);
        a.matmul(b).Dispose(); // warm up
        double best = 0, flops = 2.0 * n * n * n;
        var total = Stopwatch.StartNew();
        int runs = 0;
        while (runs < 3 || (total.Elapsed.TotalSeconds < seconds && runs < 50))
        {
            var sw = Stopwatch.StartNew();
            a.matmul(b).Dispose();
            best = Math.Max(best, flops / sw.Elapsed.TotalSeconds / 1e12);
            runs++;
        }
        return best;
    }

    public static string CachePath(ScalarType dtype, int threads, string? cacheDir = null)
    {
        cacheDir ??= Environment.GetEnvironmentVariable("SHARPTITAN_CACHE")
                     ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "sharptitan");
        string cpu = CpuModel().Replace(' ', '_').Replace('/', '_').Replace('(', '_').Replace(')', '_');
        return Path.Combine(cacheDir, $"peak-{cpu}-{Name(dtype)}-{threads}t.json");
    }

    private static void Save(string path, double tflops)
    {
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, JsonSerializer.Serialize(tflops));
        }
        catch (IOException) { } // a read-only home only loses the cache
        catch (UnauthorizedAccessException) { }
    }

    public static string CpuModel()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/cpuinfo"))
                if (line.StartsWith("model name")) return line[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (IOException) { }
        return "cpu";
    }

    public static string Name(ScalarType dtype) => dtype == ScalarType.BFloat16 ? "bf16" : dtype == ScalarType.Float32 ? "fp32" : dtype.ToString();
}
