using System.Diagnostics;
using System.Text.Json;
using SharpTitan.Metrics;
using SharpTitan.Native;
using SharpTitan.Training;

namespace SharpTitan.Benchmarks;

/// <summary>
/// Trains the tiny model for many steps and samples RSS: with per-step dispose scopes the footprint must stay
/// flat (no growth from step 100, once allocators have warmed up, to the end).
/// </summary>
public static class Soak
{
    public static void Run(string resultsDir, int steps)
    {
        TorchRuntime.SetThreads(1);
        var config = BenchConfig.Create("--model.flavor", "tiny", "--training.steps", steps.ToString(),
            "--training.seq_len", "64", "--training.local_batch_size", "4", "--training.num_threads", "1");
        using var trainer = new Trainer(config, TextWriter.Null);
        var samples = new List<(int Step, double RssMiB)>();
        var sw = Stopwatch.StartNew();
        for (int step = 1; step <= steps; step++)
        {
            trainer.TrainStep(step);
            if (step % 100 == 0 || step == 1)
            {
                samples.Add((step, ProcessMemory.RssBytes() / (double)(1 << 20)));
                Console.WriteLine($"step {step,5}  rss {samples[^1].RssMiB:F1} MiB");
            }
        }
        double at100 = samples.First(s => s.Step == 100).RssMiB, end = samples[^1].RssMiB;
        var file = Path.Combine(resultsDir, "soak.json");
        File.WriteAllText(file, JsonSerializer.Serialize(new
        {
            date = DateTime.UtcNow.ToString("u"), machine = BenchConfig.Machine(), steps, seconds = sw.Elapsed.TotalSeconds,
            rss_step1_mib = samples[0].RssMiB, rss_step100_mib = at100, rss_end_mib = end, growth_mib = end - at100,
            samples = samples.Select(s => new { step = s.Step, rss_mib = s.RssMiB }),
        }, BenchConfig.IndentedJson));
        Console.WriteLine($"RSS step 100: {at100:F1} MiB, step {steps}: {end:F1} MiB, growth {end - at100:F1} MiB; wrote {file}");
    }
}
