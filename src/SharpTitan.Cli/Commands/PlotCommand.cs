using System.CommandLine;
using SharpTitan.Metrics;

namespace SharpTitan.Cli.Commands;

/// <summary>
/// `sharptitan plot RUN_DIR... [--out FILE.png]`: loss curves and throughput of one or several run folders, each run
/// in a folder's metrics.jsonl its own series; without --out, metrics.png next to the first folder's metrics.jsonl.
/// `sharptitan plot --pipeline TRACE_DIR --out FILE.png`: a pipeline run's schedule from one profiling iteration's traces.
/// </summary>
public sealed class PlotCommand : VerbCommand
{
    private readonly Argument<string[]> _runs = new("RUN_DIR") { Description = "run folders (job.dump_folder of each run)", Arity = ArgumentArity.ZeroOrMore };
    private readonly Option<string> _out = new("--out") { Description = "the PNG file to write (default: metrics.png beside the first folder's metrics.jsonl)", HelpName = "FILE.png" };
    private readonly Option<string> _pipeline = new("--pipeline") { Description = "draw a pipeline run's schedule from a trace folder (profile_traces/iteration_N) instead", HelpName = "TRACE_DIR" };

    public PlotCommand() : base("plot", "plot loss and throughput of runs: RUN_DIR... [--out FILE.png] (or --pipeline TRACE_DIR: the schedule)") => Add(_runs, _out, _pipeline);

    protected override int Run(ParseResult parse)
    {
        var runs = parse.GetValue(_runs) ?? [];
        string? output = parse.GetValue(_out);
        if (output != null && !output.EndsWith(".png", StringComparison.OrdinalIgnoreCase)) throw new UsageException($"--out {output}: expected a .png file");
        if (parse.GetValue(_pipeline) is { } pipeline)
            return PlotPipeline(pipeline, output ?? throw new UsageException("--pipeline needs --out FILE.png"));
        if (runs.Length == 0) throw new UsageException("no run folders given (expected RUN_DIR... [--out FILE.png])");
        output ??= RunPlot.DefaultOutput(runs[0]);
        var histories = runs.SelectMany(RunHistory.Load).ToList();
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
