using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using SharpTitan.Tests.Support;
using SharpTitan.Training;

namespace SharpTitan.Tests.Training;

/// <summary>What a run prints about itself: the `training:` line at the start and the summary at the end.</summary>
public class RunReportTests
{
    public RunReportTests() => TestSetup.Torch();

    [Theory]
    [InlineData(new[] { "--training.mixed_precision_param", "bfloat16" }, "master weights float32, compute bfloat16")]
    [InlineData(new[] { "--training.mixed_precision_param", "float32" }, "master weights float32, compute float32")]
    [InlineData(new[] { "--training.dtype", "bfloat16" }, "master weights bfloat16, compute bfloat16")]
    public void TrainingLineNamesTheMasterAndTheComputeDtype(string[] overrides, string expected)
    {
        var output = new StringWriter();
        using (new Trainer(TinyConfig.Create(steps: 1, overrides: overrides), output)) { }
        var line = output.ToString().Split('\n').Single(l => l.StartsWith("training: "));
        Assert.StartsWith($"training: {expected}, ", line);
    }

    private static (string Log, IReadOnlyList<StepResult> Results, double Seconds, string Dump) Train(int steps, params string[] extra)
    {
        string dump = TestSetup.TempDir("summary");
        var output = new StringWriter();
        using var t = new Trainer(TinyConfig.Create(steps: steps, overrides: [.. extra, "--job.dump_folder", dump]), output);
        var clock = Stopwatch.StartNew();
        var results = t.Run();
        return (output.ToString(), results, clock.Elapsed.TotalSeconds, dump);
    }

    private static string[] SummaryLines(string log) => log.Split('\n').Where(l => l.StartsWith("summary: ")).Select(l => l.TrimEnd('\r')).ToArray();

    [Fact]
    public void SummaryGivesStepsTokensLossesMeansAndWhereEachOutputWent()
    {
        var (log, results, seconds, dump) = Train(4, "--metrics.log_freq", "1", "--metrics.enable_tensorboard", "--checkpoint.enable",
            "--profiling.enable_profiling", "--profiling.profile_freq", "2", "--profiling.enable_memory_snapshot");
        var lines = SummaryLines(log);
        var ci = CultureInfo.InvariantCulture;

        // 4 steps of local batch 4 (one process: the global batch) x seq_len 32.
        Assert.StartsWith("summary: 4 steps (1-4), 512 tokens in ", lines[0]);
        var best = results.MinBy(r => r.Loss)!;
        Assert.Equal(string.Format(ci, "summary: loss {0:F4} final, {1:F4} best (step {2})", results[^1].Loss, best.Loss, best.Step), lines[1]);

        // Mean tokens/s is the tokens over the run's wall time; TFLOP/s and MFU (peak 1 TFLOP/s) follow from it.
        var m = Regex.Match(lines[2], @"^summary: ([\d,]+) tokens/s per device, ([\d.]+) TFLOP/s, MFU ([\d.]+)% \(means over the wall time\)$");
        Assert.True(m.Success, lines[2]);
        double tps = double.Parse(m.Groups[1].Value, NumberStyles.AllowThousands, ci);
        Assert.InRange(512 / tps, 0.5 * seconds, seconds);
        double flopsPerToken = (SharpTitan.Models.Llama3.ModelFlavors.Llama3["tiny"] with { VocabSize = 259, MaxSeqLen = 32 }).FlopsPerToken(32);
        Assert.Equal(flopsPerToken * tps / 1e12, double.Parse(m.Groups[2].Value, ci), 0.0015);
        Assert.Equal(100 * double.Parse(m.Groups[2].Value, ci), double.Parse(m.Groups[3].Value, ci), 0.15);

        var tb = Directory.GetDirectories(Path.Combine(dump, "tb")).Single();
        Assert.Equal([
            $"summary: metrics in {Path.Combine(dump, "metrics.jsonl")} (run 1)",
            $"summary: TensorBoard files in {tb}",
            $"summary: traces in {Path.Combine(dump, "profile_traces")}",
            $"summary: memory snapshots in {Path.Combine(dump, "memory_snapshot")}",
            $"summary: checkpoints in {Path.Combine(dump, "checkpoint")}"], lines[3..]);
    }

    [Fact]
    public void SummaryNamesOnlyTheOutputsThatAreOnAndTheStepsOfAResumedStart()
    {
        string[] checkpoints = ["--checkpoint.enable", "--checkpoint.interval", "2", "--checkpoint.last_save_model_only", "false"];
        var (_, _, _, dump) = Train(2, checkpoints);
        var output = new StringWriter();
        using (var t = new Trainer(TinyConfig.Create(steps: 5, overrides: [.. checkpoints, "--job.dump_folder", dump]), output)) t.Run();
        var lines = SummaryLines(output.ToString());
        Assert.StartsWith("summary: 3 steps (3-5), 384 tokens in ", lines[0]);
        Assert.Equal([$"summary: metrics in {Path.Combine(dump, "metrics.jsonl")} (run 1)", $"summary: checkpoints in {Path.Combine(dump, "checkpoint")}"], lines[3..]);
    }
}
