using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;

namespace SharpTitan.Cli.Commands;

/// <summary>`--help` of any verb: System.CommandLine's usage, arguments, options and verbs, then the verb's own notes.</summary>
internal sealed class VerbHelpAction(HelpAction standard, Func<Command, string?> notes) : SynchronousCommandLineAction
{
    public override int Invoke(ParseResult parseResult)
    {
        standard.Invoke(parseResult);
        if (notes(parseResult.CommandResult.Command) is { } text)
            parseResult.InvocationConfiguration.Output.Write(text);
        return ExitCodes.Success;
    }
}
