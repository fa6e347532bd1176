using SharpTitan.Config;

namespace SharpTitan.Cli.Commands;

/// <summary>
/// `sharptitan config --config FILE [overrides]`: validates and prints the effective config;
/// `sharptitan config --help`: every key with its type, default and meaning.
/// </summary>
public sealed class ConfigCommand : ICommand
{
    public string Name => "config";
    public string Summary => "print the effective config: --config FILE [--section.key value ...]; --help lists every key";

    public int Run(string[] args)
    {
        if (args.Contains("--help") || args.Contains("-h"))
        {
            Console.Write(ConfigHelp.Text());
            return 0;
        }
        Console.Write(ConfigPrinter.ToToml(ConfigLoader.FromCommandLine(args)));
        return 0;
    }
}
