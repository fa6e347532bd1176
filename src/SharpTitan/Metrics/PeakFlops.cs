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

    /// <param name="device">The job's device (default: the host). A GPU's peak is its datasheet's bf16 dense figure (as
    /// torchtitan, whatever the training dtype); an unknown GPU's is measured, like a CPU's.</param>
    public static Peak Resolve(double configured, ScalarType dtype, int threads, string? cacheDir = null, Device? device = null)
    {
        if (configured > 0) return new Peak(configured, "metrics.peak_tflops");
        if (device != null && Native.ComputeDevice.IsCuda(device)) return ResolveGpu(device);
        string path = CachePath(dtype, threads, cacheDir);
        double cached = ReadCache(path);
        if (cached > 0) return new Peak(cached, $"measured {Name(dtype)} matmul on {threads} thread(s), cached in {path}");
        double measured = Record(path, Measure(dtype));
        return new Peak(measured, $"measured {Name(dtype)} matmul on {threads} thread(s) now, cached in {path}");
    }

    private static Peak ResolveGpu(Device device)
    {
        string name = Native.CudaNative.Properties(Native.ComputeDevice.CudaIndex(device)).Name;
        if (GpuDatasheetPeak(name) is { } sheet) return new Peak(sheet, $"{name}: datasheet bf16 dense");
        // Unknown GPU: the best rate of a large bf16 matmul on it, so MFU can never pass 100%.
        return new Peak(Measure(ScalarType.BFloat16, 8192, device: device), $"{name}: measured bf16 8192^3 matmul now (no datasheet figure known)");
    }

    /// <summary>The datasheet figure for a GPU's name as CUDA reports it ("NVIDIA H100 80GB HBM3", "NVIDIA A100-SXM4-80GB").</summary>
    public static double? GpuDatasheetPeak(string deviceName)
    {
        string n = deviceName.ToUpperInvariant();
        string? key = n.Contains("H200") ? "H200"
            : n.Contains("H100") ? (n.Contains("PCIE") ? "H100 PCIe" : n.Contains("NVL") ? "H100 NVL" : "H100 SXM")
            : n.Contains("A100") ? "A100"
            : n.Contains("B200") ? "B200"
            : null;
        return key == null ? null : GpuBf16Datasheet[key];
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
    public static double Measure(ScalarType dtype, int n = 2048, double seconds = 1.0, Device? device = null)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        device ??= Native.ComputeDevice.Cpu;
        var a = randn(n, n).to(dtype).to(device);
        var b = randn(n, n).to(dtype).to(device);
        a.matmul(b).Dispose(); // warm up
        Native.ComputeDevice.Synchronize(device);
        double best = 0, flops = 2.0 * n * n * n;
        var total = Stopwatch.StartNew();
        int runs = 0;
        while (runs < 3 || (total.Elapsed.TotalSeconds < seconds && runs < 50))
        {
            var sw = Stopwatch.StartNew();
            a.matmul(b).Dispose();
            Native.ComputeDevice.Synchronize(device);
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
