using ScottPlot;

namespace SharpTitan.Metrics;

/// <summary>
/// Renders runs as a PNG: the top panel overlays each run's training loss (solid) and validation loss (dashed,
/// when present); below, tokens/s per device and MFU % per run. (MFU is proportional to tokens/s within a run, so
/// it gets its own panel: on a second axis of the same panel the two lines would coincide.)
/// </summary>
public static class RunPlot
{
    public static void Save(IReadOnlyList<RunHistory> runs, string pngPath, int width = 1200, int height = 1100)
    {
        var loss = new Plot();
        var speed = new Plot();
        var utilisation = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        bool anyMfu = false;
        for (int i = 0; i < runs.Count; i++)
        {
            var run = runs[i];
            var color = palette.GetColor(i);
            var steps = run.Train.Select(p => (double)p.Step).ToArray();
            var line = loss.Add.Scatter(steps, run.Train.Select(p => p.Loss).ToArray(), color);
            line.LegendText = $"{run.Label} train";
            line.MarkerSize = run.Train.Count > 60 ? 0 : 4;
            if (run.Validation.Count > 0)
            {
                var val = loss.Add.Scatter(run.Validation.Select(v => (double)v.Step).ToArray(), run.Validation.Select(v => v.Loss).ToArray(), color);
                val.LegendText = $"{run.Label} validation";
                val.LinePattern = LinePattern.Dashed;
            }
            var tps = speed.Add.Scatter(steps, run.Train.Select(p => p.TokensPerSecond).ToArray(), color);
            tps.LegendText = $"{run.Label} tokens/s";
            var withMfu = run.Train.Where(p => p.Mfu.HasValue).ToList();
            if (withMfu.Count > 0)
            {
                var mfu = utilisation.Add.Scatter(withMfu.Select(p => (double)p.Step).ToArray(), withMfu.Select(p => p.Mfu!.Value).ToArray(), color);
                mfu.LegendText = $"{run.Label} MFU";
                anyMfu = true;
            }
        }
        loss.Title("Loss");
        loss.XLabel("step");
        loss.YLabel("cross-entropy (nats)");
        loss.ShowLegend(Alignment.UpperRight);
        speed.Title("Throughput");
        speed.XLabel("step");
        speed.YLabel("tokens/s per device");
        speed.ShowLegend(Alignment.LowerRight);
        utilisation.Title("Model FLOPs utilisation");
        utilisation.XLabel("step");
        utilisation.YLabel("MFU (%)");
        utilisation.ShowLegend(Alignment.LowerRight);

        var figure = new Multiplot();
        figure.Reset(loss);
        figure.AddPlot(speed);
        if (anyMfu) figure.AddPlot(utilisation);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(pngPath))!);
        figure.SavePng(pngPath, width, height);
    }
}
