using System.Diagnostics;
using System.Text;

namespace SharpTitan.Tests.Distributed;

/// <summary>What an mpirun (or any launched program) left behind.</summary>
public sealed record ProcessResult(int ExitCode, string Stdout, string Stderr, TimeSpan Elapsed, bool TimedOut)
{
    public string Output => Stdout + Stderr;

    /// <summary>For assertion messages: the exit code, time and the last part of the output.</summary>
    public string Describe() =>
        $"exit {ExitCode}{(TimedOut ? " (killed: timed out)" : "")} after {Elapsed.TotalSeconds:0.0} s; output:\n" +
        (Output.Length > 6000 ? "..." + Output[^6000..] : Output);
}

/// <summary>
/// Starts real ranks under mpirun for multi-rank tests: always --oversubscribe, --allow-run-as-root when root,
/// loopback only, one torch/OpenMP thread per rank, and a hard timeout that kills the whole process tree so a
/// hung job fails its test instead of CI. Programs are found in the build output of the same configuration as
/// the tests (the solution must be built, as test.sh does).
/// </summary>
public static class MpiRun
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(90);

    /// <summary>The repository root (the folder holding SharpTitan.slnx).</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>The multi-rank test worker (tests/SharpTitan.MpiWorker): `SCENARIO [key=value...]`.</summary>
    public static string WorkerPath => BuiltProgram("tests/SharpTitan.MpiWorker", "SharpTitan.MpiWorker");

    /// <summary>The `sharptitan` CLI (src/SharpTitan.Cli).</summary>
    public static string CliPath => BuiltProgram("src/SharpTitan.Cli", "sharptitan");

    public static bool IsRoot => Environment.UserName == "root";

    /// <summary>mpirun's options for a job on this machine (before the program).</summary>
    public static List<string> MpirunOptions(int ranks)
    {
        var o = new List<string> { "-n", ranks.ToString() };
        if (IsRoot) o.Add("--allow-run-as-root");
        o.AddRange(["--oversubscribe", "--bind-to", "none",
            "--mca", "btl", "self,vader,tcp", "--mca", "btl_tcp_if_include", "lo", "--mca", "oob_tcp_if_include", "lo",
            "-x", "OMP_NUM_THREADS", "-x", "MKL_NUM_THREADS"]);
        return o;
    }

    /// <summary>Runs <paramref name="program"/> on <paramref name="ranks"/> ranks under mpirun.</summary>
    public static ProcessResult Run(int ranks, string program, IEnumerable<string> args, TimeSpan? timeout = null,
        IReadOnlyDictionary<string, string>? environment = null) =>
        Start(FindMpirun(), [.. MpirunOptions(ranks), program, .. args], timeout, environment);

    /// <summary>Runs a worker scenario on <paramref name="ranks"/> ranks.</summary>
    public static ProcessResult Worker(int ranks, string scenario, params string[] options) =>
        Run(ranks, WorkerPath, [scenario, .. options]);

    /// <summary>Runs a program directly (no mpirun), with the same environment and hard timeout.</summary>
    public static ProcessResult Start(string program, IEnumerable<string> args, TimeSpan? timeout = null,
        IReadOnlyDictionary<string, string>? environment = null, string? workingDirectory = null)
    {
        var psi = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? RepoRoot,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["OMP_NUM_THREADS"] = "1";
        psi.Environment["MKL_NUM_THREADS"] = "1";
        if (environment != null) foreach (var (k, v) in environment) psi.Environment[k] = v;

        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        var sw = Stopwatch.StartNew();
        using var p = new Process { StartInfo = psi };
        p.OutputDataReceived += (_, e) => { if (e.Data != null) lock (stdout) stdout.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (stderr) stderr.AppendLine(e.Data); };
        p.Start();
        p.StandardInput.Close();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        bool finished = p.WaitForExit(timeout ?? DefaultTimeout);
        if (!finished)
        {
            try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            p.WaitForExit(10_000);
        }
        else p.WaitForExit(); // drains the redirected streams
        lock (stdout) lock (stderr)
            return new ProcessResult(finished ? p.ExitCode : -1, stdout.ToString(), stderr.ToString(), sw.Elapsed, !finished);
    }

    public static string FindMpirun()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, "mpirun");
            if (File.Exists(candidate)) return candidate;
        }
        throw new InvalidOperationException("mpirun is not on PATH: install OpenMPI (test.sh does: apt-get install openmpi-bin libopenmpi-dev)");
    }

    /// <summary>A project's apphost in bin/CONFIG/TFM, with CONFIG and TFM those of this test assembly.</summary>
    private static string BuiltProgram(string projectDir, string name)
    {
        var tfmDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/'));
        var path = Path.Combine(RepoRoot, projectDir, "bin", tfmDir.Parent!.Name, tfmDir.Name, name);
        return File.Exists(path) ? path
            : throw new FileNotFoundException($"{path} is missing: build the solution first (dotnet build SharpTitan.slnx -c {tfmDir.Parent!.Name})");
    }

    private static string FindRepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "SharpTitan.slnx"))) return d.FullName;
        throw new InvalidOperationException($"no SharpTitan.slnx above {AppContext.BaseDirectory}");
    }
}

/// <summary>Tests that start mpirun run one at a time (CI has 2 cores; parallel jobs would only compete).</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MpiCollection
{
    public const string Name = "mpirun";
}
