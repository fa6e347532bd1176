namespace SharpTitan.Cli.Commands;

/// <summary>Dispatches `sharptitan VERB ...` to its command; turns expected failures into one-line errors.</summary>
public static class CommandLine
{
    /// <summary>Every command, in the order `sharptitan --help` lists them. Add new commands here.</summary>
    public static IReadOnlyList<ICommand> Commands { get; } = new List<ICommand>
    {
        new TrainCommand(),
        new LaunchCommand(),
        new ConfigCommand(),
        new PeakCommand(),
        new PlotCommand(),
        new PrepareDataCommand(),
        new DownloadCommand(),
        new ConvertCommand(),
        new GenerateCommand(),
    };

    public static int Run(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            Console.WriteLine("usage: sharptitan <command> [options]\n\ncommands:");
            foreach (var c in Commands) Console.WriteLine($"  {c.Name,-10} {c.Summary}");
            return args.Length == 0 ? ExitCodes.InputError : ExitCodes.Success;
        }
        var command = Commands.FirstOrDefault(c => c.Name == args[0]);
        if (command == null)
        {
            Console.Error.WriteLine($"sharptitan: unknown command '{args[0]}' (commands: {string.Join(", ", Commands.Select(c => c.Name))})");
            return ExitCodes.InputError;
        }
        try
        {
            return command.Run(args[1..]);
        }
        catch (SharpTitan.IO.StorageException e)
        {
            ReportOnce($"sharptitan {command.Name}: error: {e.Message}", ExitCodes.StorageError);
            return ExitCodes.StorageError;
        }
        catch (Exception e) when (IsUserError(e))
        {
            ReportOnce($"sharptitan {command.Name}: error: {e.Message}", ExitCodes.InputError);
            return ExitCodes.InputError;
        }
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
