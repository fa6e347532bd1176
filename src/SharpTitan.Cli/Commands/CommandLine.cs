using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;

namespace SharpTitan.Cli.Commands;

/// <summary>
/// `sharptitan VERB ...` through System.CommandLine: every verb answers --help, the tool --version; a bad command line
/// and expected failures are one-line errors with their exit codes.
/// </summary>
public static class CommandLine
{
    /// <summary>Every verb, in the order `sharptitan --help` lists them. Add new verbs here.</summary>
    public static IReadOnlyList<VerbCommand> Commands { get; } =
    [
        new TrainCommand(),
        new LaunchCommand(),
        new ConfigCommand(),
        new PeakCommand(),
        new PlotCommand(),
        new PrepareDataCommand(),
        new DownloadCommand(),
        new ConvertCommand(),
        new GenerateCommand(),
    ];

    private static readonly Lazy<Command> Root = new(BuildRoot);

    /// <summary>Arguments are taken as written: no response files (`@file`), no bundled short options.</summary>
    private static readonly ParserConfiguration Parsing = new() { ResponseFileTokenReplacer = null, EnablePosixBundling = false };

    /// <summary>Runs a command line; expected failures become one line on stderr and their exit code.</summary>
    public static int Run(string[] args)
    {
        var parse = Parse(args);
        var command = parse.CommandResult.Command;
        string who = command == Root.Value ? "sharptitan" : $"sharptitan {command.Name}";
        try
        {
            return Invoke(parse);
        }
        catch (SharpTitan.IO.StorageException e)
        {
            ReportOnce($"{who}: error: {e.Message}", ExitCodes.StorageError);
            return ExitCodes.StorageError;
        }
        catch (Exception e) when (IsUserError(e))
        {
            ReportOnce($"{who}: error: {e.Message}", ExitCodes.InputError);
            return ExitCodes.InputError;
        }
    }

    public static ParseResult Parse(string[] args) => Root.Value.Parse(args, Parsing);

    /// <summary>Runs a parsed command line (a bad one throws <see cref="UsageException"/>); failures propagate.</summary>
    public static int Invoke(ParseResult parse)
    {
        if (parse.Action is ParseErrorAction)
            throw new UsageException(string.Join("; ", parse.Errors.Select(e => OneLine(e.Message))));
        return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
    }

    /// <summary>System.CommandLine's message on one line ("Must be one of:" lists its values on lines of their own).</summary>
    private static string OneLine(string message) =>
        string.Join(" ", message.Split(['\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    /// <summary>The `sharptitan` command (named so whichever program hosts it): its verbs, --help (every verb's too) and --version.</summary>
    private static Command BuildRoot()
    {
        var root = new Command("sharptitan", "SharpTitan: pre-train Llama 3 models in C# (torchtitan's configs and command-line overrides).");
        foreach (var verb in Commands) root.Subcommands.Add(verb.Command);
        var help = new HelpOption();
        var verbHelp = new VerbHelpAction((HelpAction)help.Action!, command => Commands.FirstOrDefault(v => v.Command == command)?.HelpNotes);
        help.Action = verbHelp;
        root.Options.Add(help);
        root.Options.Add(new VersionOption { Action = new VersionAction() });
        root.SetAction(parse =>
        {
            verbHelp.Invoke(parse); // bare `sharptitan`: the verbs, and exit code 2 (nothing was asked)
            return ExitCodes.InputError;
        });
        return root;
    }

    /// <summary>
    /// How long a rank other than 0 waits before printing an input error itself: an error every rank finds (a bad
    /// config) is printed by rank 0, whose exit ends the job (mpirun kills the others within about 2 s) before then.
    /// </summary>
    public static readonly TimeSpan OtherRanksWait = TimeSpan.FromSeconds(4);

    /// <summary>
    /// Prints an input error once per job: without mpirun, or on rank 0, at once; on another rank only when rank 0
    /// has not ended the job within <see cref="OtherRanksWait"/> (the error was that rank's alone), prefixed with its
    /// rank. Under MPI the job then ends with <paramref name="exitCode"/> and no further text from MPI_Abort's caller.
    /// </summary>
    private static void ReportOnce(string line, int exitCode)
    {
        int rank = Distributed.DistributedRuntime.LaunchRank ?? 0;
        if (rank != 0)
        {
            Thread.Sleep(OtherRanksWait);
            line = $"rank {rank}: {line}";
        }
        Console.Error.WriteLine(line);
        Distributed.DistributedRuntime.AbortQuietly(exitCode);
    }

    /// <summary>Errors caused by input (config, data, files, command line) rather than by a bug.</summary>
    public static bool IsUserError(Exception e) =>
        e is UsageException or Config.ConfigException or FileNotFoundException or DirectoryNotFoundException
            or InvalidDataException;
}
