using SharpTitan.Config;

namespace SharpTitan.Commands;

/// <summary>`sharptitan config --config FILE [overrides]`: validates and prints the effective config.</summary>
public sealed class ConfigCommand : ICommand
{
    public string Name => "config";
    public string Summary => "print the effective config: --config FILE [--section.key value ...]";

    public int Run(string[] args)
    {
        Console.Write(ConfigPrinter.ToToml(ConfigLoader.FromCommandLine(args)));
        return 0;
    }
}
