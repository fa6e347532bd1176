using System.Diagnostics;
using System.Text;
using SharpTitan.Tests.Distributed;

namespace SharpTitan.Tests.Support;

/// <summary>
/// A program started in the background (one torch thread, output captured) that a test can watch, signal and wait
/// for; disposing kills what is left of its process tree, so a failed test leaves no job running.
/// </summary>
public sealed class RunningProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public RunningProcess(string program, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true,
            UseShellExecute = false, WorkingDirectory = MpiRun.RepoRoot,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["OMP_NUM_THREADS"] = "1";
        psi.Environment["MKL_NUM_THREADS"] = "1";
        _process = new Process { StartInfo = psi };
        _process.OutputDataReceived += (_, e) => { if (e.Data != null) lock (_output) _output.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (_output) _output.AppendLine(e.Data); };
        _process.Start();
        _process.StandardInput.Close();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public int Id => _process.Id;

    public string Output { get { lock (_output) return _output.ToString(); } }

    /// <summary>Waits until <paramref name="condition"/> holds (polling every 100 ms); false when the time or the process ran out.</summary>
    public bool WaitUntil(Func<bool> condition, TimeSpan timeout)
    {
        var end = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < end)
        {
            if (condition()) return true;
            if (_process.HasExited) return condition();
            Thread.Sleep(100);
        }
        return false;
    }

    /// <summary>Sends <paramref name="signal"/> (e.g. "TERM") to <paramref name="pid"/> with kill(1).</summary>
    public static void Signal(int pid, string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, pid.ToString()]);
        kill.WaitForExit();
    }

    /// <summary>Sends the signals one right after the other (one shell's built-in kill: microseconds apart, not a process start each).</summary>
    public static void Signals(int pid, params string[] signals)
    {
        using var sh = Process.Start("sh", ["-c", string.Join("; ", signals.Select(s => $"kill -{s} {pid}"))]);
        sh.WaitForExit();
    }

    /// <summary>Waits for the exit; returns the exit code and the time it took (null code: still running, killed).</summary>
    public (int? ExitCode, TimeSpan Elapsed) WaitForExit(TimeSpan timeout)
    {
        var start = _clock.Elapsed;
        if (!_process.WaitForExit(timeout)) return (null, _clock.Elapsed - start);
        var elapsed = _clock.Elapsed - start;
        // Drains the output, boundedly: processes it left behind may still hold its pipes open.
        Task.WaitAny(_process.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(5)));
        return (_process.ExitCode, elapsed);
    }

    /// <summary>Processes whose command line contains <paramref name="text"/> (e.g. a run's unique dump folder).</summary>
    public static List<int> ProcessesNaming(string text)
    {
        var found = new List<int>();
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid) || pid == Environment.ProcessId) continue;
            try
            {
                var status = File.ReadAllText(Path.Combine(dir, "stat"));
                if (status[(status.LastIndexOf(')') + 2)..].StartsWith('Z')) continue; // a zombie has ended
                if (File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ').Contains(text)) found.Add(pid);
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return found;
    }

    /// <summary>Kills (SIGKILL) every process whose command line contains <paramref name="text"/>: what a failed test left running.</summary>
    public static void KillAll(string text)
    {
        foreach (int pid in ProcessesNaming(text)) Signal(pid, "KILL");
    }

    public string Describe() => $"after {_clock.Elapsed.TotalSeconds:0.0} s; output:\n{(Output.Length > 6000 ? "..." + Output[^6000..] : Output)}";

    public void Dispose()
    {
        try { if (!_process.HasExited) _process.Kill(entireProcessTree: true); }
        catch (InvalidOperationException) { }
        _process.Dispose();
    }
}
