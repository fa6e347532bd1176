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
            return args.Length == 0 ? 2 : 0;
        }
        var command = Commands.FirstOrDefault(c => c.Name == args[0]);
        if (command == null)
        {
            Console.Error.WriteLine($"sharptitan: unknown command '{args[0]}' (commands: {string.Join(", ", Commands.Select(c => c.Name))})");
            return 2;
        }
        try
        {
            return command.Run(args[1..]);
        }
        catch (SharpTitan.IO.StorageException e)
        {
            Console.Error.WriteLine($"sharptitan {command.Name}: error: {e.Message}");
            return SharpTitan.IO.StorageException.ExitCode;
        }
        catch (Exception e) when (IsUserError(e))
        {
            Console.Error.WriteLine($"sharptitan {command.Name}: error: {e.Message}");
            return 2;
        }
    }

    /// <summary>Errors caused by input (config, data, files, command line) rather than by a bug.</summary>
    public static bool IsUserError(Exception e) =>
        e is UsageException or Config.ConfigException or FileNotFoundException or DirectoryNotFoundException
            or InvalidDataException;
}
