using System.CommandLine;
using System.CommandLine.Invocation;
using System.Reflection;

namespace SharpTitan.Cli.Commands;

/// <summary>`sharptitan --version`: this tool's version (with the commit it was built from), whoever hosts it.</summary>
internal sealed class VersionAction : SynchronousCommandLineAction
{
    public static string Version =>
        typeof(VersionAction).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(VersionAction).Assembly.GetName().Version?.ToString() ?? "unknown";

    public override int Invoke(ParseResult parseResult)
    {
        parseResult.InvocationConfiguration.Output.WriteLine(Version);
        return ExitCodes.Success;
    }
}
