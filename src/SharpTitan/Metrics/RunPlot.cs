using ScottPlot;

namespace SharpTitan.Metrics;

/// <summary>
/// Renders runs as a PNG: the top panel overlays each run's training loss (solid) and validation loss (dashed,
/// when present); below, tokens/s per device and MFU % per run. (MFU is proportional to tokens/s within a run, so
/// it gets its own panel: on a second axis of the same panel the two lines would coincide.) Every run is its own
/// series, steps are whole numbers on the axes, and each panel's legend sits below its data area.
/// </summary>
public static class RunPlot
{
    /// <summary>The file `plot` writes without --out: next to the first run's metrics file.</summary>
    public const string DefaultFileName = "metrics.png";

    /// <summary>Where `plot` writes without --out: <see cref="DefaultFileName"/> in the folder of the first run's metrics file.</summary>
    public static string DefaultOutput(string firstRunDirOrFile) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(RunHistory.FileOf(firstRunDirOrFile)))!, DefaultFileName);

    public static void Save(IReadOnlyList<RunHistory> runs, string pngPath, int width = 1200, int height = 1100)
    {
        var panels = Panels(runs);
        var figure = new Multiplot();
        figure.Reset(panels[0]);
        foreach (var panel in panels.Skip(1)) figure.AddPlot(panel);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(pngPath))!);
        figure.SavePng(pngPath, width, height);
    }

    /// <summary>The figure's panels: loss, throughput and, when any run reports it, MFU.</summary>
    internal static IReadOnlyList<Plot> Panels(IReadOnlyList<RunHistory> runs)
    {
        var loss = Panel("Loss", "cross-entropy (nats)");
        var speed = Panel("Throughput", "tokens/s per device");
        var utilisation = Panel("Model FLOPs utilisation", "MFU (%)");
        var palette = new ScottPlot.Palettes.Category10();
        bool anyMfu = false;
        for (int i = 0; i < runs.Count; i++)
        {
            var run = runs[i];
            var color = palette.GetColor(i);
            var train = Series(loss, run.Train.Select(p => (p.Step, p.Loss)), color, $"{run.Label} train");
            train.MarkerSize = run.Train.Count > 60 ? 0 : 4;
            if (run.Validation.Count > 0)
                Series(loss, run.Validation, color, $"{run.Label} validation").LinePattern = LinePattern.Dashed;
            Series(speed, run.Train.Select(p => (p.Step, p.TokensPerSecond)), color, $"{run.Label} tokens/s");
            var withMfu = run.Train.Where(p => p.Mfu.HasValue).ToList();
            if (withMfu.Count == 0) continue;
            Series(utilisation, withMfu.Select(p => (p.Step, p.Mfu!.Value)), color, $"{run.Label} MFU");
            anyMfu = true;
        }
        return anyMfu ? [loss, speed, utilisation] : [loss, speed];
    }

    private static Plot Panel(string title, string yLabel)
    {
        var plot = new Plot();
        plot.Title(title);
        plot.XLabel("step");
        plot.YLabel(yLabel);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        // Below the data area (not inside it, where it hides curves; not beside it, which would misalign the panels' step axes).
        plot.ShowLegend(Edge.Bottom).Legend.Orientation = Orientation.Horizontal;
        return plot;
    }

    private static ScottPlot.Plottables.Scatter Series(Plot plot, IEnumerable<(int Step, double Value)> points, Color color, string label)
    {
        var list = points.ToList();
        var line = plot.Add.Scatter(list.Select(p => (double)p.Step).ToArray(), list.Select(p => p.Value).ToArray(), color);
        line.LegendText = label;
        return line;
    }
}
