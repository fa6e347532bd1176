using System.Text.Json;
using SharpTitan.Cli.Commands;
using SharpTitan.Metrics;
using SharpTitan.Tests.Support;
using SharpTitan.Training;

namespace SharpTitan.Tests.Metrics;

/// <summary>metrics.jsonl holds each run under its own id, and `plot` draws each run as its own series.</summary>
public class MetricsRunTests
{
    public MetricsRunTests() => TestSetup.Torch();

    private static IReadOnlyList<StepResult> Train(string dump, int steps, params string[] extra)
    {
        var config = TinyConfig.Create(steps: steps, overrides: [.. new[] { "--metrics.log_freq", "1", "--job.dump_folder", dump }, .. extra]);
        using var t = new Trainer(config, TextWriter.Null);
        return t.Run();
    }

    private static int[] RunIds(string dump) =>
        File.ReadAllLines(Path.Combine(dump, "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("run").GetInt32()).ToArray();

    [Fact]
    public void TwoFreshRunsIntoOneFolderAreTwoRuns()
    {
        string dump = Path.Combine(TestSetup.TempDir("runs"), "same");
        var first = Train(dump, 3);
        var second = Train(dump, 2, "--optimizer.lr", "2e-3");
        Assert.Equal([1, 1, 1, 2, 2], RunIds(dump));

        var runs = RunHistory.Load(dump);
        Assert.Equal(["same run 1", "same run 2"], runs.Select(r => r.Label));
        Assert.Equal([1, 2, 3], runs[0].Train.Select(p => p.Step));
        Assert.Equal([1, 2], runs[1].Train.Select(p => p.Step));
        Assert.Equal(first.Select(r => r.Loss), runs[0].Train.Select(p => p.Loss));
        Assert.Equal(second.Select(r => r.Loss), runs[1].Train.Select(p => p.Loss));
    }

    [Fact]
    public void ALineAKilledRunLeftUnfinishedIsSkippedAndDroppedButOtherBadLinesAreErrors()
    {
        string dump = TestSetup.TempDir("cut-short");
        string file = Path.Combine(dump, "metrics.jsonl");
        string whole = """{"run":1,"step":1,"loss":5.0,"tps":10.0}""" + "\n";
        File.WriteAllText(file, whole + """{"run":1,"step":2,"lo""");
        Assert.Single(Assert.Single(RunHistory.Load(dump)).Train); // the unfinished step 2 is not a point
        using (var writer = new MetricsFileWriter(dump, null, resumed: false))
            Assert.Equal(2, writer.Run);
        Assert.Equal(whole, File.ReadAllText(file)); // cut off before the next run appends
        File.WriteAllText(file, "not json\n" + whole);
        var e = Assert.Throws<InvalidDataException>(() => RunHistory.Load(dump));
        Assert.Equal($"{file}:1: not a JSON line", e.Message);
    }

    [Fact]
    public void AResumedRunContinuesItsOwnRunAndItsLatestStepsWin()
    {
        string dump = TestSetup.TempDir("resume-run");
        string[] checkpoints = ["--checkpoint.enable", "--checkpoint.interval", "2"];
        Train(dump, 3, checkpoints); // full state at step 2, the model only at step 3
        var resumed = Train(dump, 5, checkpoints); // resumes at step 2: logs steps 3-5 again
        Assert.Equal([3, 4, 5], resumed.Select(r => r.Step));
        Assert.Equal([1, 1, 1, 1, 1, 1], RunIds(dump));

        var run = Assert.Single(RunHistory.Load(dump));
        Assert.Equal([1, 2, 3, 4, 5], run.Train.Select(p => p.Step)); // step 3 once: no step backwards
        Assert.Equal(resumed[0].Loss, run.Train[2].Loss);

        Train(dump, 1, "--checkpoint.enable=false");
        Assert.Equal(2, RunIds(dump)[^1]); // a fresh start after it is a new run
    }

    [Fact]
    public void PlotDrawsEachRunAsItsOwnLineWithWholeStepTicksAndTheLegendOffTheData()
    {
        string dump = Path.Combine(TestSetup.TempDir("plot-runs"), "twice");
        Train(dump, 5);
        Train(dump, 3);
        var panels = RunPlot.Panels(RunHistory.Load(dump));
        foreach (var panel in panels)
        {
            var lines = panel.GetPlottables().OfType<ScottPlot.Plottables.Scatter>().ToList();
            Assert.Equal(2, lines.Count);
            foreach (var line in lines)
            {
                var xs = line.Data.GetScatterPoints().Select(p => p.X).ToList();
                Assert.True(xs.Zip(xs.Skip(1)).All(p => p.Second > p.First), $"{panel.Axes.Title.Label.Text}: steps go backwards: {string.Join(",", xs)}");
            }
            panel.GetImage(800, 400);
            var ticks = panel.Axes.Bottom.TickGenerator.Ticks.Where(t => t.IsMajor).Select(t => t.Position).ToList();
            Assert.NotEmpty(ticks);
            Assert.All(ticks, t => Assert.Equal(Math.Round(t), t));
            Assert.False(panel.Legend.IsVisible); // no legend inside the data area...
            Assert.Single(panel.Axes.GetPanels().OfType<ScottPlot.Panels.LegendPanel>()); // ...but one beside it
        }
    }

    [Fact]
    public void PlotWithoutOutWritesMetricsPngInTheFirstRunFolder()
    {
        string dump = TestSetup.TempDir("plot-default");
        Train(dump, 2);
        var saved = Console.Out;
        Console.SetOut(TextWriter.Null);
        try { Assert.Equal(0, CommandLine.Run(["plot", dump])); }
        finally { Console.SetOut(saved); }
        Assert.True(File.Exists(Path.Combine(dump, "metrics.png")));
    }
}
