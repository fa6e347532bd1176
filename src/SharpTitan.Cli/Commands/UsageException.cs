namespace SharpTitan.Cli.Commands;

/// <summary>A bad command line or input: printed as one line, no stack trace, exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);
