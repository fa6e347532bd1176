using System.CommandLine;
using SharpTitan.Config;
using SharpTitan.Training;

namespace SharpTitan.Cli.Commands;

/// <summary>
/// `sharptitan config --config FILE [overrides]`: validates as `train` does (<see cref="JobCheck"/>, on the ranks the
/// parallel degrees ask for) and prints the effective config;
/// `sharptitan config --help`: every key with its type, default and meaning.
/// </summary>
public sealed class ConfigCommand : VerbCommand
{
    private readonly ConfigArguments _config = new();

    public ConfigCommand() : base("config", "check a job as train would and print its effective config: --config FILE [--section.key value ...]; --help lists every key") =>
        _config.AddTo(Command);

    public override string HelpNotes => ConfigArguments.HelpNotes;

    protected override int Run(ParseResult parse)
    {
        var config = _config.Load(parse);
        JobCheck.Run(config);
        Console.Write(ConfigPrinter.ToToml(config));
        return 0;
    }
}
