using SharpTitan.Config;

namespace SharpTitan.Benchmarks;

/// <summary>Job configs for benchmark runs: the debug config with the given overrides, quiet, fixed seed.</summary>
public static class BenchConfig
{
    public static JobConfig Create(params string[] overrides)
    {
        var args = new List<string>
        {
            "--metrics.log_freq", "100000", "--metrics.disable_color_printing", "--debug.seed", "0",
            "--lr_scheduler.warmup_steps", "2",
        };
        args.AddRange(overrides);
        return ConfigLoader.Load(Path.Combine("configs", "debug_model.toml"), args);
    }

    /// <summary>Indented JSON for the result files.</summary>
    public static System.Text.Json.JsonSerializerOptions IndentedJson { get; } = new() { WriteIndented = true };

    public static string Machine() =>
        $"{SharpTitan.Metrics.PeakFlops.CpuModel()}, {Environment.ProcessorCount} cores, " +
        $"{SharpTitan.Metrics.ProcessMemory.MachineBytes() / (1L << 30)} GiB";

    public static double Median(IEnumerable<double> values)
    {
        var v = values.OrderBy(x => x).ToArray();
        return v.Length == 0 ? double.NaN : v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
    }
}
