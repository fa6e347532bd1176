using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace SharpTitan.Benchmarks;

/// <summary>
/// `compare OTHER_BINARY [rounds] [pp]`: the single-process (`train`) and FSDP (`fsdp-scaling`) cases, or with `pp`
/// pipeline cases (PP 2 on 1F1B, Interleaved1F1B and ZBVZeroBubble, 4 micro-batches), run by two builds
/// side by side in one invocation: this program and another build of it (e.g. the previous commit's, built in a
/// git worktree). Each round runs every case with both builds, alternating which goes first, so a shared
/// machine's drift hits both alike; the report gives each side's median and the median of the per-round ratios.
/// </summary>
public static class BuildComparison
{
    private static readonly string[] PipelineSchedules = ["1F1B", "Interleaved1F1B", "ZBVZeroBubble"];

    private sealed record Sample(string Case, int Round, string Build, double TokensPerSecond, double PeakRssGiB);

    public static int Run(string resultsDir, string otherBinary, int rounds, bool pipeline = false)
    {
        if (!File.Exists(otherBinary))
        {
            Console.Error.WriteLine($"compare: {otherBinary} does not exist (expected another build's SharpTitan.Benchmarks binary)");
            return 2;
        }
        var builds = new[] { ("this", Environment.ProcessPath!), ("other", Path.GetFullPath(otherBinary)) };
        var ppCases = pipeline
            ? PipelineSchedules.Select(s => new PpBench.Case($"PP 2 {s}, 4 micro-batches", 2, s, 4, 1, 8, 256, 4, "")).ToArray()
            : [];
        var trainCases = pipeline ? [] : new[]
        {
            new TrainThroughput.Case("debugmodel", "float32", 2, 8, 2048, 10),
            new TrainThroughput.Case("wide100M", "float32", 2, 2, 512, 6),
            new TrainThroughput.Case("wide100M", "bfloat16", 2, 2, 512, 6),
        };
        var fsdpCases = pipeline ? [] : new[]
        {
            new FsdpBench.Case("FSDP 2 x 1 thread, overlap", 2, 1, true, 4, 512, 6, ""),
        };
        var samples = new List<Sample>();
        for (int round = 1; round <= rounds; round++)
            foreach (var (build, binary) in round % 2 == 1 ? builds : builds.Reverse())
            {
                foreach (var c in trainCases)
                {
                    var r = RunTrainCase(binary, c);
                    samples.Add(new Sample($"{c.Model} {c.Dtype} x {c.Threads} threads", round, build, r.MedianTokensPerSecond, r.PeakRssGiB));
                }
                foreach (var c in fsdpCases)
                {
                    var output = TempOutput();
                    var r = RunMpiCase<FsdpBench.Result>(binary, "fsdp-scaling-case", c.Ranks, c with { Output = output }, output);
                    samples.Add(new Sample(c.Label, round, build, r.JobTokensPerSecond, r.PeakRssGiBMax));
                }
                foreach (var c in ppCases)
                {
                    var output = TempOutput();
                    var r = RunMpiCase<PpBench.Result>(binary, "pp-case", c.Pp, c with { Output = output }, output);
                    samples.Add(new Sample(c.Label, round, build, r.JobTokensPerSecond, r.PeakRssGiB.Max()));
                }
                Console.WriteLine($"round {round}: {build} done");
            }
        var rows = samples.GroupBy(s => s.Case).Select(g => Row(g.Key, [.. g])).ToList();
        foreach (var row in rows) Console.WriteLine(row);
        var file = Path.Combine(resultsDir, pipeline ? "compare-pp.json" : "compare.json");
        File.WriteAllText(file, JsonSerializer.Serialize(new { date = DateTime.UtcNow.ToString("u"), machine = BenchConfig.Machine(), other = otherBinary, rounds, samples },
            BenchConfig.IndentedJson));
        Console.WriteLine($"wrote {file}");
        return 0;
    }

    private static string Row(string name, List<Sample> samples)
    {
        double Median(string build) => BenchConfig.Median(samples.Where(s => s.Build == build).Select(s => s.TokensPerSecond));
        var ratios = samples.Where(s => s.Build == "this")
            .Select(t => t.TokensPerSecond / samples.Single(o => o.Build == "other" && o.Round == t.Round).TokensPerSecond);
        return string.Format(CultureInfo.InvariantCulture, "{0}: this {1:F1} tokens/s, other {2:F1} tokens/s, median per-round ratio {3:F3} ({4})",
            name, Median("this"), Median("other"), BenchConfig.Median(ratios),
            string.Join(", ", samples.OrderBy(s => s.Round).ThenBy(s => s.Build).Select(s => $"r{s.Round} {s.Build} {s.TokensPerSecond:F1}")));
    }

    private static TrainThroughput.Result RunTrainCase(string binary, TrainThroughput.Case c)
    {
        var psi = new ProcessStartInfo(binary, ["train-case", JsonSerializer.Serialize(c)]) { RedirectStandardOutput = true };
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{binary} train-case: exit code {p.ExitCode}");
        return JsonSerializer.Deserialize<TrainThroughput.Result>(output.Split('\n').Last(l => l.StartsWith('{')))!;
    }

    private static string TempOutput() => Path.Combine(Path.GetTempPath(), $"compare-{Guid.NewGuid():N}.json");

    /// <summary>Under mpirun as `sharptitan launch` starts ranks (OpenMPI, yielding waits, loopback only); the case writes its result to its output file.</summary>
    private static T RunMpiCase<T>(string binary, string verb, int ranks, object @case, string output)
    {
        var psi = new ProcessStartInfo("mpirun") { RedirectStandardOutput = true };
        foreach (var a in new[] { "-n", ranks.ToString(CultureInfo.InvariantCulture), "--allow-run-as-root", "--oversubscribe", "--bind-to", "none",
                     "--mca", "mpi_yield_when_idle", "1", "--mca", "btl", "self,vader", binary, verb, JsonSerializer.Serialize(@case) })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{binary} {verb} under mpirun: exit code {p.ExitCode}");
        var result = JsonSerializer.Deserialize<T>(File.ReadAllText(output))!;
        File.Delete(output);
        return result;
    }
}
