using SharpTitan.Metrics;

namespace SharpTitan.Cli.Commands;

/// <summary>
/// `sharptitan plot RUN_DIR... --out FILE.png`: loss curves and throughput of one or several runs;
/// `sharptitan plot --pipeline TRACE_DIR --out FILE.png`: a pipeline run's schedule from one profiling iteration's traces.
/// </summary>
public sealed class PlotCommand : ICommand
{
    public string Name => "plot";
    public string Summary => "plot loss and throughput of runs: RUN_DIR... --out FILE.png (or --pipeline TRACE_DIR: the schedule)";

    public int Run(string[] args)
    {
        string? output = null, pipeline = null;
        var runs = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--pipeline") pipeline = i + 1 < args.Length ? args[++i] : throw new UsageException("--pipeline needs a trace folder (profile_traces/iteration_N)");
            else if (args[i] == "--out") output = i + 1 < args.Length ? args[++i] : throw new UsageException("--out needs a file name");
            else if (args[i].StartsWith("--out=")) output = args[i]["--out=".Length..];
            else if (args[i].StartsWith("--")) throw new UsageException($"unknown option '{args[i]}' (expected RUN_DIR... --out FILE.png)");
            else runs.Add(args[i]);
        }
        if (output == null) throw new UsageException("--out FILE.png is required");
        if (!output.EndsWith(".png", StringComparison.OrdinalIgnoreCase)) throw new UsageException($"--out {output}: expected a .png file");
        if (pipeline != null) return PlotPipeline(pipeline, output);
        if (runs.Count == 0) throw new UsageException("no run folders given (expected RUN_DIR... --out FILE.png)");
        var histories = runs.Select(RunHistory.Load).ToList();
        RunPlot.Save(histories, output);
        Console.WriteLine($"wrote {output} ({histories.Count} run(s): {string.Join(", ", histories.Select(h => $"{h.Label} {h.Train.Count} points"))})");
        return 0;
    }

    private static int PlotPipeline(string folder, string output)
    {
        if (!Directory.Exists(folder)) throw new UsageException($"--pipeline {folder}: no such folder");
        var timeline = PipelineTimeline.Load(folder);
        timeline.Save(output);
        var idle = timeline.IdleShares();
        Console.WriteLine($"wrote {output} ({timeline.Ranks} ranks, {timeline.Boxes.Count} forward/backward spans; idle " +
                          string.Join(", ", idle.Select((x, r) => $"rank {r} {100 * x:F0}%")) + ")");
        return 0;
    }
}
