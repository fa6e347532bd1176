using System.CommandLine;

namespace SharpTitan.Cli.Commands;

/// <summary>
/// One `sharptitan VERB`: its System.CommandLine definition (name, summary, options and arguments: what its --help
/// shows and what parses its command line) and what it does with the parsed values.
/// </summary>
public abstract class VerbCommand
{
    protected VerbCommand(string name, string summary)
    {
        Command = new Command(name, summary);
        Command.SetAction(Run);
    }

    public Command Command { get; }
    public string Name => Command.Name;

    /// <summary>Printed after the options by `--help` (train and config: every config key); null = nothing more.</summary>
    public virtual string? HelpNotes => null;

    /// <summary>`sharptitan NAME args...` without the one-line error handling: returns the exit code, or throws.</summary>
    public int Run(string[] args) => CommandLine.Invoke(CommandLine.Parse([Name, .. args]));

    /// <summary>Runs with the parsed command line; returns the process exit code.</summary>
    protected abstract int Run(ParseResult parse);

    protected void Add(params Symbol[] symbols)
    {
        foreach (var s in symbols)
        {
            if (s is Option o) Command.Options.Add(o);
            else Command.Arguments.Add((Argument)s);
        }
    }
}
