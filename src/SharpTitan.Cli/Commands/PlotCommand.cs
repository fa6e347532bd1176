using SharpTitan.Metrics;

namespace SharpTitan.Cli.Commands;

/// <summary>
/// `sharptitan plot RUN_DIR... [--out FILE.png]`: loss curves and throughput of one or several run folders, each run
/// in a folder's metrics.jsonl its own series; without --out, metrics.png next to the first folder's metrics.jsonl.
/// </summary>
public sealed class PlotCommand : ICommand
{
    public string Name => "plot";
    public string Summary => "plot loss and throughput of runs: RUN_DIR... [--out FILE.png] (default RUN_DIR/metrics.png)";

    public int Run(string[] args)
    {
        string? output = null;
        var runs = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--out") output = i + 1 < args.Length ? args[++i] : throw new UsageException("--out needs a file name");
            else if (args[i].StartsWith("--out=")) output = args[i]["--out=".Length..];
            else if (args[i].StartsWith("--")) throw new UsageException($"unknown option '{args[i]}' (expected RUN_DIR... [--out FILE.png])");
            else runs.Add(args[i]);
        }
        if (runs.Count == 0) throw new UsageException("no run folders given (expected RUN_DIR... [--out FILE.png])");
        output ??= RunPlot.DefaultOutput(runs[0]);
        if (!output.EndsWith(".png", StringComparison.OrdinalIgnoreCase)) throw new UsageException($"--out {output}: expected a .png file");
        var histories = runs.SelectMany(RunHistory.Load).ToList();
        RunPlot.Save(histories, output);
        Console.WriteLine($"wrote {output} ({histories.Count} run(s): {string.Join(", ", histories.Select(h => $"{h.Label} {h.Train.Count} points"))})");
        return 0;
    }
}
