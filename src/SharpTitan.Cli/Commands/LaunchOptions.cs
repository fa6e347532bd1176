namespace SharpTitan.Cli.Commands;

/// <summary>The parsed `launch` command line.</summary>
public sealed record LaunchOptions(int Ranks, string? Hostfile, IReadOnlyList<string> Command)
{
    public const string Usage = "usage: sharptitan launch -n N [--hostfile FILE] -- COMMAND [ARGS...]";

    public static LaunchOptions Parse(string[] args)
    {
        int? ranks = null;
        string? hostfile = null;
        int i = 0;
        for (; i < args.Length && args[i] != "--"; i++)
        {
            switch (args[i])
            {
                case "-n" or "--nproc" or "-np":
                    var value = Next(args, ref i);
                    if (!int.TryParse(value, out var n) || n < 1)
                        throw new UsageException($"-n needs a positive number of ranks, got '{value}'");
                    ranks = n;
                    break;
                case "--hostfile":
                    hostfile = Next(args, ref i);
                    if (!File.Exists(hostfile)) throw new FileNotFoundException($"hostfile '{hostfile}' does not exist");
                    break;
                default:
                    throw new UsageException($"unknown option '{args[i]}' ({Usage})");
            }
        }
        if (ranks == null) throw new UsageException($"-n is required ({Usage})");
        if (i >= args.Length - 1) throw new UsageException($"give the command the ranks run after '--' ({Usage})");
        return new LaunchOptions(ranks.Value, hostfile, args[(i + 1)..]);
    }

    private static string Next(string[] args, ref int i) =>
        ++i < args.Length && args[i] != "--" ? args[i] : throw new UsageException($"{args[i - 1]} needs a value ({Usage})");
}
