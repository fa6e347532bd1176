using System.Diagnostics;
using System.Runtime.InteropServices;

namespace SharpTitan.Cli.Commands;

/// <summary>
/// What `launch` does with SIGTERM and SIGINT while mpirun runs. The first is passed on as SIGUSR1, which mpirun
/// forwards to every rank at once (OpenMPI handles SIGTERM and SIGINT itself by killing the ranks: SIGTERM, then
/// SIGKILL a second later, too soon for a save); `train` takes it as a graceful stop. The second sends mpirun
/// SIGTERM, which ends the job at once; if mpirun is still running <see cref="KillAfter"/> later, the launcher
/// kills it and every process under it. Either way the launcher returns only when mpirun has ended.
/// </summary>
public sealed class LaunchSignals : IDisposable
{
    public static readonly TimeSpan KillAfter = TimeSpan.FromSeconds(10);

    private readonly Process _mpirun;
    private readonly List<PosixSignalRegistration> _registrations = [];
    private readonly TextWriter _log;
    private int _count, _firstSignal;
    private volatile bool _killed;
    private Timer? _deadline;

    public LaunchSignals(Process mpirun, TextWriter log)
    {
        (_mpirun, _log) = (mpirun, log);
        _registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => OnSignal(c, "SIGTERM", PosixKill.SigTerm)));
        _registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGINT, c => OnSignal(c, "SIGINT", PosixKill.SigInt)));
    }

    /// <summary>Signals received so far.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>
    /// The launcher's exit code: mpirun's (75 after a graceful stop), or 128 + the first signal when a second signal
    /// stopped the job at once (mpirun itself then says 1) or the launcher had to kill it.
    /// </summary>
    public int ExitCode(int mpirunExitCode) =>
        _killed || (Count >= 2 && mpirunExitCode is not (ExitCodes.Success or ExitCodes.Preempted))
            ? ExitCodes.SignalBase + _firstSignal
            : mpirunExitCode;

    private void OnSignal(PosixSignalContext context, string name, int number)
    {
        context.Cancel = true; // the launcher stays until mpirun has ended
        int n = Interlocked.Increment(ref _count);
        if (n == 1)
        {
            _firstSignal = number;
            _log.WriteLine($"sharptitan launch: {name}: asking every rank to stop after the step in flight and save " +
                           "(a second signal stops the job at once)");
            PosixKill.Send(_mpirun.Id, PosixKill.SigUsr1);
            return;
        }
        if (n > 2) return;
        _log.WriteLine($"sharptitan launch: {name} again: stopping the job at once");
        PosixKill.Send(_mpirun.Id, PosixKill.SigTerm);
        _deadline = new Timer(_ => KillTree(), null, KillAfter, Timeout.InfiniteTimeSpan);
    }

    private void KillTree()
    {
        try
        {
            if (_mpirun.HasExited) return;
            _killed = true;
            _log.WriteLine($"sharptitan launch: mpirun did not end within {KillAfter.TotalSeconds:0} s; killing it and its ranks");
            _mpirun.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException) { /* it ended meanwhile */ }
    }

    public void Dispose()
    {
        foreach (var r in _registrations) r.Dispose();
        _deadline?.Dispose();
    }
}
