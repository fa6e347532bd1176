using System.Text.Json;
using SharpTitan.Cli.Commands;
using SharpTitan.Metrics;
using SharpTitan.Tests.Support;
using SharpTitan.Training;

namespace SharpTitan.Tests.Metrics;

public class ObservabilityTests
{
    public ObservabilityTests() => TestSetup.Torch();

    private static (string Dump, IReadOnlyList<StepResult> Results) TrainRun(string name, int steps, params string[] extra)
    {
        string dump = Path.Combine(TestSetup.TempDir("obs"), name);
        var config = TinyConfig.Create(steps: steps, overrides: [.. new[] { "--metrics.log_freq", "1", "--job.dump_folder", dump }, .. extra]);
        using var t = new Trainer(config, TextWriter.Null);
        return (dump, t.Run());
    }

    [Fact]
    public void MetricsFileHasOneLinePerLoggedStepWithEveryField()
    {
        var (dump, results) = TrainRun("jsonl", 4);
        var lines = File.ReadAllLines(Path.Combine(dump, "metrics.jsonl"));
        Assert.Equal(4, lines.Length);
        for (int i = 0; i < 4; i++)
        {
            using var doc = JsonDocument.Parse(lines[i]);
            var r = doc.RootElement;
            Assert.Equal(i + 1, r.GetProperty("step").GetInt32());
            Assert.Equal(results[i].Loss, r.GetProperty("loss").GetDouble(), 9);
            foreach (var f in new[] { "grad_norm", "lr", "tps", "tflops", "mfu", "memory_gib", "memory_pct", "data_wait_pct" })
                Assert.True(r.GetProperty(f).GetDouble() >= 0, f);
        }
    }

    [Fact]
    public void PlotRendersLossAndThroughputOfSeveralRuns()
    {
        var (a, _) = TrainRun("runA", 6);
        var (b, _) = TrainRun("runB", 6, "--optimizer.lr", "2e-3");
        string png = Path.Combine(TestSetup.TempDir("plot"), "runs.png");
        Assert.Equal(0, CommandLine.Run(["plot", a, b, "--out", png]));
        var bytes = File.ReadAllBytes(png);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);
        // IHDR: width and height big-endian at bytes 16-23.
        int width = (bytes[16] << 24) | (bytes[17] << 16) | (bytes[18] << 8) | bytes[19];
        int height = (bytes[20] << 24) | (bytes[21] << 16) | (bytes[22] << 8) | bytes[23];
        Assert.Equal((1200, 1100), (width, height));
        // A blank image compresses to almost nothing; axes, labels and two coloured curves do not.
        Assert.True(bytes.Length > 30_000, $"PNG is only {bytes.Length} bytes: blank?");
    }

    [Fact]
    public void PlotOfAMissingRunIsAOneLineError()
    {
        var err = new StringWriter();
        var saved = Console.Error;
        Console.SetError(err);
        try { Assert.Equal(2, CommandLine.Run(["plot", "/no/such/run", "--out", "/tmp/x.png"])); }
        finally { Console.SetError(saved); }
        Assert.Contains("/no/such/run", err.ToString());
        Assert.Single(err.ToString().Trim().Split('\n'));
    }

    [Fact]
    public void ProfilingWritesChromeTracesWithEveryPhase()
    {
        var (dump, _) = TrainRun("trace", 6, "--profiling.enable_profiling", "--profiling.profile_freq", "3", "--profiling.profiler_active", "2");
        var traces = Directory.GetFiles(Path.Combine(dump, "profile_traces"), "rank0_trace.json", SearchOption.AllDirectories).Order().ToList();
        Assert.Equal(["iteration_3", "iteration_6"], traces.Select(t => Path.GetFileName(Path.GetDirectoryName(t)!)));
        using var doc = JsonDocument.Parse(File.ReadAllText(traces[0]));
        var events = doc.RootElement.GetProperty("traceEvents").EnumerateArray().Where(e => e.GetProperty("ph").GetString() == "X").ToList();
        var names = events.Select(e => e.GetProperty("name").GetString()).ToList();
        foreach (var phase in new[] { "step", "data_wait", "forward", "backward", "clip_grad_norm", "optimizer" })
            Assert.Equal(2, names.Count(n => n == phase)); // two active steps per cycle
        Assert.All(events, e => Assert.True(e.GetProperty("dur").GetDouble() >= 0));
    }

    [Fact]
    public void TracesHoldEveryOperatorAndTheyAddUpToTheStep()
    {
        var (dump, _) = TrainRun("ops", 2, "--profiling.enable_profiling", "--profiling.profile_freq", "2");
        var trace = Directory.GetFiles(Path.Combine(dump, "profile_traces"), "rank0_trace.json", SearchOption.AllDirectories).Single();
        using var doc = JsonDocument.Parse(File.ReadAllText(trace));
        var spans = doc.RootElement.GetProperty("traceEvents").EnumerateArray().Where(e => e.GetProperty("ph").GetString() == "X")
            .Select(e => (Name: e.GetProperty("name").GetString()!, Cat: e.GetProperty("cat").GetString(), Ts: e.GetProperty("ts").GetDouble(),
                Dur: e.GetProperty("dur").GetDouble(), Tid: e.GetProperty("tid").GetInt32())).ToList();
        var ops = spans.Where(s => s.Cat == "op").OrderBy(s => s.Ts).ThenByDescending(s => s.Dur).ToList();
        Assert.Contains(ops, o => o.Name is "aten::mm" or "aten::addmm" or "aten::matmul");
        Assert.Contains(ops, o => o.Name.StartsWith("autograd::engine::evaluate_function: ", StringComparison.Ordinal)); // backward nodes
        // Operators nest; those not inside another operator on the step's thread must fit in the step and fill most of it.
        var step = spans.Single(s => s.Name == "step");
        double covered = 0, openEnd = double.MinValue;
        foreach (var o in ops.Where(o => o.Tid == step.Tid && o.Ts >= step.Ts && o.Ts + o.Dur <= step.Ts + step.Dur))
            if (o.Ts >= openEnd) { covered += o.Dur; openEnd = o.Ts + o.Dur; }
        Assert.InRange(covered / step.Dur, 0.3, 1.0);

        var (plain, _) = TrainRun("no-ops", 2, "--profiling.enable_profiling", "--profiling.profile_freq", "2", "--profiling.record_operators=false");
        var plainTrace = File.ReadAllText(Directory.GetFiles(Path.Combine(plain, "profile_traces"), "rank0_trace.json", SearchOption.AllDirectories).Single());
        Assert.DoesNotContain("\"cat\":\"op\"", plainTrace);
        Assert.Contains("\"name\":\"forward\"", plainTrace);
    }

    [Fact]
    public void ProfilingScheduleTracesTheLastActiveStepsOfEachCycle()
    {
        var s = new ProfilingSchedule(freq: 10, active: 2);
        Assert.Equal([9, 10, 19, 20], Enumerable.Range(1, 20).Where(s.Records));
        Assert.Equal([10, 20], Enumerable.Range(1, 20).Where(s.WritesAfter));
    }

    [Fact]
    public void MemorySnapshotsRecordRssAndTrainingState()
    {
        var (dump, _) = TrainRun("mem", 4, "--profiling.enable_memory_snapshot", "--profiling.memory_snapshot_freq", "2");
        var lines = File.ReadAllLines(Path.Combine(dump, "memory_snapshot", "rank0_memory.jsonl"));
        Assert.Equal(2, lines.Length);
        using var doc = JsonDocument.Parse(lines[1]);
        var r = doc.RootElement;
        Assert.Equal(4, r.GetProperty("step").GetInt32());
        Assert.True(r.GetProperty("rss_bytes").GetInt64() > 50 << 20);
        Assert.True(r.GetProperty("live_tensors").GetInt64() > 0);
        // parameters + gradients + two AdamW moments = 4 x fp32 parameter bytes
        var args = SharpTitan.Models.Llama3.ModelFlavors.Llama3["tiny"] with { VocabSize = 259 };
        Assert.Equal(4 * 4 * args.ParameterCount(), r.GetProperty("training_state_bytes").GetInt64());
    }

    [Fact]
    public void ProgressBarShowsShareSizeAndRateAndEndsItsLine()
    {
        var output = new StringWriter();
        var bar = new ProgressBar(output, "checkpoint step-4", totalBytes: 4_000_000);
        bar.Add(1_000_000);
        bar.Add(3_000_000);
        bar.Finish();
        var text = output.ToString();
        Assert.StartsWith("\rcheckpoint step-4 [", text);
        Assert.Contains("100.0% 4.0/4.0 MB", text);
        Assert.Contains("MB/s", text);
        Assert.EndsWith(Environment.NewLine, text);
        var silent = new ProgressBar(null, "x", 10);
        silent.Add(10);
        silent.Finish(); // no output, no exception
    }
}
