using System.CommandLine;
using SharpTitan.Metrics;

namespace SharpTitan.Cli.Commands;

/// <summary>`sharptitan plot RUN_DIR... --out FILE.png`: loss curves and throughput of one or several runs.</summary>
public sealed class PlotCommand : VerbCommand
{
    private readonly Argument<string[]> _runs = new("RUN_DIR") { Description = "run folders (job.dump_folder of each run)", Arity = ArgumentArity.OneOrMore };
    private readonly Option<string> _out = new("--out") { Description = "the PNG file to write", HelpName = "FILE.png", Required = true };

    public PlotCommand() : base("plot", "plot loss and throughput of runs: RUN_DIR... --out FILE.png") => Add(_runs, _out);

    protected override int Run(ParseResult parse)
    {
        string output = parse.GetValue(_out)!;
        if (!output.EndsWith(".png", StringComparison.OrdinalIgnoreCase)) throw new UsageException($"--out {output}: expected a .png file");
        var histories = parse.GetValue(_runs)!.Select(RunHistory.Load).ToList();
        RunPlot.Save(histories, output);
        Console.WriteLine($"wrote {output} ({histories.Count} run(s): {string.Join(", ", histories.Select(h => $"{h.Label} {h.Train.Count} points"))})");
        return 0;
    }
}
