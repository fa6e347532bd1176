using System.CommandLine;
using SharpTitan.Metrics;

namespace SharpTitan.Cli.Commands;

/// <summary>
/// `sharptitan plot RUN_DIR... [--out FILE.png]`: loss curves and throughput of one or several run folders, each run
/// in a folder's metrics.jsonl its own series; without --out, metrics.png next to the first folder's metrics.jsonl.
/// </summary>
public sealed class PlotCommand : VerbCommand
{
    private readonly Argument<string[]> _runs = new("RUN_DIR") { Description = "run folders (job.dump_folder of each run)", Arity = ArgumentArity.OneOrMore };
    private readonly Option<string> _out = new("--out") { Description = "the PNG file to write (default: metrics.png beside the first folder's metrics.jsonl)", HelpName = "FILE.png" };

    public PlotCommand() : base("plot", "plot loss and throughput of runs: RUN_DIR... [--out FILE.png]") => Add(_runs, _out);

    protected override int Run(ParseResult parse)
    {
        var runs = parse.GetValue(_runs)!;
        string output = parse.GetValue(_out) ?? RunPlot.DefaultOutput(runs[0]);
        if (!output.EndsWith(".png", StringComparison.OrdinalIgnoreCase)) throw new UsageException($"--out {output}: expected a .png file");
        var histories = runs.SelectMany(RunHistory.Load).ToList();
        RunPlot.Save(histories, output);
        Console.WriteLine($"wrote {output} ({histories.Count} run(s): {string.Join(", ", histories.Select(h => $"{h.Label} {h.Train.Count} points"))})");
        return 0;
    }
}
