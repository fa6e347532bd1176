using System.CommandLine;

namespace SharpTitan.Cli.Commands;

/// <summary>The parsed `launch` command line.</summary>
public sealed record LaunchOptions(int Ranks, string? Hostfile, IReadOnlyList<string> Command)
{
    public const string Usage = "usage: sharptitan launch -n N [--hostfile FILE] -- COMMAND [ARGS...]";

    private static readonly Option<string?> RanksOption = new("-n", "--nproc", "-np") { Description = "the number of ranks", HelpName = "N" };
    private static readonly Option<string?> HostfileOption = new("--hostfile") { Description = "mpirun's hostfile (default: every rank on this machine)", HelpName = "FILE" };
    private static readonly Argument<string[]> CommandArgument = new("COMMAND")
    {
        Description = "after --: the sharptitan command every rank runs (train ...)", Arity = ArgumentArity.ZeroOrMore,
    };

    /// <summary>Declares launch's options and arguments on its command.</summary>
    internal static void AddTo(Command command)
    {
        command.Options.Add(RanksOption);
        command.Options.Add(HostfileOption);
        command.Arguments.Add(CommandArgument);
    }

    /// <summary>`sharptitan launch ARGS` parsed (for tests and callers without the CLI).</summary>
    public static LaunchOptions Parse(string[] args)
    {
        var parse = CommandLine.Parse(["launch", .. args]);
        if (parse.Errors.Count > 0) throw new UsageException($"{parse.Errors[0].Message} ({Usage})");
        return From(parse);
    }

    internal static LaunchOptions From(ParseResult parse)
    {
        string? value = parse.GetValue(RanksOption);
        if (value == null) throw new UsageException($"-n is required ({Usage})");
        if (!int.TryParse(value, out var ranks) || ranks < 1) throw new UsageException($"-n needs a positive number of ranks, got '{value}'");
        string? hostfile = parse.GetValue(HostfileOption);
        if (hostfile != null && !File.Exists(hostfile)) throw new FileNotFoundException($"hostfile '{hostfile}' does not exist");
        // The ranks' command is everything after `--`; any other argument is not launch's.
        var tokens = parse.Tokens.Select(t => t.Value).ToList();
        int separator = tokens.IndexOf("--");
        var command = separator < 0 ? [] : tokens[(separator + 1)..];
        if (command.Count == 0) throw new UsageException($"give the command the ranks run after '--' ({Usage})");
        var loose = parse.GetValue(CommandArgument)!.SkipLast(command.Count).ToList();
        if (loose.Count > 0) throw new UsageException($"unknown option '{loose[0]}' ({Usage})");
        return new LaunchOptions(ranks, hostfile, command);
    }
}
