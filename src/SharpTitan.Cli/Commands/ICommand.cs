namespace SharpTitan.Cli.Commands;

/// <summary>One `sharptitan VERB` command.</summary>
public interface ICommand
{
    string Name { get; }
    string Summary { get; }
    /// <summary>Runs with the arguments after the verb; returns the process exit code.</summary>
    int Run(string[] args);
}
