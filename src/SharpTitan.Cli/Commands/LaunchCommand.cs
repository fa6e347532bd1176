using System.CommandLine;
using System.Diagnostics;
using SharpTitan.Metrics;

namespace SharpTitan.Cli.Commands;

/// <summary>
/// `sharptitan launch -n N [--hostfile F] -- VERB ...`: runs this same program N times under mpirun and returns
/// mpirun's exit code. Without a hostfile the ranks stay on this machine and talk over loopback/shared memory.
/// SIGTERM / SIGINT reach every rank (<see cref="LaunchSignals"/>); mpirun's own notices about a job whose ranks
/// already said why it ended are left out (<see cref="MpirunNotices"/>).
/// </summary>
public sealed class LaunchCommand : VerbCommand
{
    public LaunchCommand() : base("launch", "start N ranks under mpirun: launch -n N [--hostfile F] -- train ...") => LaunchOptions.AddTo(Command);

    protected override int Run(ParseResult parse)
    {
        var options = LaunchOptions.From(parse);
        var mpirun = FindMpirun()
            ?? throw new UsageException("mpirun was not found on PATH; install OpenMPI (apt-get install openmpi-bin) or set MPIRUN to its path");
        var flavor = DetectFlavor(mpirun);
        var psi = new ProcessStartInfo(mpirun) { UseShellExecute = false, RedirectStandardError = true };
        // mpirun gives ranks a pseudo-terminal, so they cannot see that the launcher's output is redirected.
        psi.Environment[ConsoleMetricsWriter.ColorVariable] = Console.IsOutputRedirected ? "0" : "1";
        // On that terminal .NET's console starts each rank's output with the keypad-mode sequence (ESC[?1h ESC=);
        // with TERM=dumb it writes none, so output captured in a file or pipe stays plain text.
        if (Console.IsOutputRedirected) psi.Environment["TERM"] = "dumb";
        foreach (var a in MpirunArguments(options, flavor, IsRoot(), SelfCommand())) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {mpirun}");
        var notices = new MpirunNotices(Console.Error);
        process.ErrorDataReceived += (_, e) => { if (e.Data != null) notices.Line(e.Data); };
        process.BeginErrorReadLine();
        using var signals = new LaunchSignals(process, Console.Error);
        process.WaitForExit();
        notices.Finish(explained: ExitCodes.ExplainedByTheRanks(process.ExitCode) || signals.Count > 0);
        return signals.ExitCode(process.ExitCode);
    }

    /// <summary>The mpirun command line after the program name (public for tests).</summary>
    public static List<string> MpirunArguments(LaunchOptions o, string flavor, bool isRoot, IReadOnlyList<string> self)
    {
        var a = new List<string> { "-n", o.Ranks.ToString() };
        if (flavor == "openmpi")
        {
            if (isRoot) a.Add("--allow-run-as-root");
            // More ranks than cores is normal here (tests, CPU training with few cores); each rank runs its own
            // torch threads, so ranks are not pinned to one core each.
            a.AddRange(["--oversubscribe", "--bind-to", "none", "-x", ConsoleMetricsWriter.ColorVariable]);
            // A thread waiting in MPI yields its core between polls instead of spinning: FSDP's communication
            // thread then leaves the core to the matmuls it overlaps (FSDP 2 on 2 cores: 163 vs 147 tokens/s).
            a.AddRange(["--mca", "mpi_yield_when_idle", "1"]);
            if (o.Hostfile != null) a.AddRange(["--hostfile", o.Hostfile]);
            else a.AddRange(["--mca", "btl", "self,vader,tcp", "--mca", "btl_tcp_if_include", "lo", "--mca", "oob_tcp_if_include", "lo"]);
        }
        else
        {
            if (o.Hostfile != null) a.AddRange(["-f", o.Hostfile]);
            else a.AddRange(["-iface", "lo"]);
        }
        a.AddRange(self);
        a.AddRange(o.Command);
        return a;
    }

    /// <summary>The current program as a command line: the apphost alone, or `dotnet program.dll`.</summary>
    private static IReadOnlyList<string> SelfCommand()
    {
        var exe = Environment.ProcessPath ?? throw new InvalidOperationException("cannot tell which program is running");
        if (Path.GetFileNameWithoutExtension(exe) != "dotnet") return [exe];
        var entry = System.Reflection.Assembly.GetEntryAssembly()?.Location;
        return string.IsNullOrEmpty(entry) ? throw new InvalidOperationException("cannot find the entry assembly to relaunch") : [exe, entry];
    }

    private static string? FindMpirun()
    {
        var configured = Environment.GetEnvironmentVariable("MPIRUN");
        if (!string.IsNullOrWhiteSpace(configured)) return File.Exists(configured) ? configured : null;
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, "mpirun");
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    /// <summary>"openmpi" or "mpich" (Hydra), from `mpirun --version`; their flags differ.</summary>
    private static string DetectFlavor(string mpirun)
    {
        var psi = new ProcessStartInfo(mpirun, "--version") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var p = Process.Start(psi)!;
        var text = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        return text.Contains("Open MPI", StringComparison.OrdinalIgnoreCase) || text.Contains("OpenRTE") ? "openmpi" : "mpich";
    }

    private static bool IsRoot() => Environment.UserName == "root";
}
