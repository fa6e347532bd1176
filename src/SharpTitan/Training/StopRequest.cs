using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using SharpTitan.Distributed;
using static TorchSharp.torch;

namespace SharpTitan.Training;

/// <summary>
/// Graceful stop (preemption). The first SIGTERM, SIGINT or SIGUSR1 (what `sharptitan launch` forwards through
/// mpirun) asks training to stop: the step in flight finishes, the ranks agree at the step boundary (an all-reduce
/// of one flag per step, so one rank's signal stops them all after the same step), a full-state checkpoint is saved
/// when checkpointing is on, and the verb exits with <see cref="PreemptedExitCode"/>. A second signal ends the
/// process at once with 128 + the signal's number (under MPI that aborts the whole job).
/// </summary>
public sealed class StopRequest : IDisposable
{
    /// <summary>Exit code of a run that stopped on request after saving (EX_TEMPFAIL: run the same command again to resume).</summary>
    public const int PreemptedExitCode = 75;

    /// <summary>
    /// Test hook: "K" raises the request during step K on every rank, "K@R" on rank R only (as if a signal had
    /// arrived then). Tests use it to stop at a known step without sleeping; it is not for production use.
    /// </summary>
    public const string StopAtStepVariable = "SHARPTITAN_STOP_AT_STEP";

    private const int SigUsr1 = 10;
    private readonly List<PosixSignalRegistration> _registrations = [];
    private readonly Action<string> _log;
    private readonly (int Step, int? Rank)? _hook;
    private readonly Action<int> _stopNow;
    private int _signals;
    private volatile string? _reason;
    private readonly List<double> _checkMicroseconds = [];

    /// <param name="log">Where the stop is announced (the rank's log).</param>
    /// <param name="handleSignals">Installs the signal handlers; false: only <see cref="Request"/> and the test hook stop.</param>
    /// <param name="stopNow">What a second signal does with its exit code (default: <see cref="StopNow"/>).</param>
    public StopRequest(Action<string> log, bool handleSignals = true, Action<int>? stopNow = null)
    {
        _log = log;
        _stopNow = stopNow ?? StopNow;
        _hook = ParseHook(Environment.GetEnvironmentVariable(StopAtStepVariable));
        if (!handleSignals) return;
        foreach (var (signal, name) in new[] { (PosixSignal.SIGTERM, "SIGTERM"), (PosixSignal.SIGINT, "SIGINT"), ((PosixSignal)SigUsr1, "SIGUSR1") })
            _registrations.Add(PosixSignalRegistration.Create(signal, context => OnSignal(context, name)));
    }

    /// <summary>Why the stop was requested (a signal's name), or null.</summary>
    public string? Reason => _reason;

    public bool IsRequested => _reason != null;

    /// <summary>
    /// Agreement checks made so far and the median and smallest time of one, in microseconds (what stopping costs a
    /// step; a rank that finishes its step first also waits there for the others).
    /// </summary>
    public (int Checks, double MedianMicroseconds, double MinMicroseconds) Cost
    {
        get
        {
            if (_checkMicroseconds.Count == 0) return (0, 0, 0);
            var sorted = _checkMicroseconds.Order().ToList();
            return (sorted.Count, sorted[sorted.Count / 2], sorted[0]);
        }
    }

    /// <summary>Asks for a stop at the next step boundary (the first reason wins).</summary>
    public void Request(string reason) => Interlocked.CompareExchange(ref _reason, reason, null);

    private void OnSignal(PosixSignalContext context, string name)
    {
        context.Cancel = true; // the default action would end the process before the step and the save finish
        int number = (int)context.Signal > 0 ? (int)context.Signal : SignalNumber(context.Signal);
        if (Interlocked.Increment(ref _signals) == 1)
        {
            Request(name);
            _log($"received {name}: finishing the step in flight, then saving a checkpoint (if enabled) and exiting " +
                 $"with code {PreemptedExitCode}; a second signal stops at once");
            return;
        }
        _log($"received {name} again: stopping at once (exit code {128 + number})");
        _stopNow(128 + number);
    }

    /// <summary>Ends the process at once: under MPI the whole job (MPI_Abort), else this process without exit handlers.</summary>
    public static void StopNow(int exitCode)
    {
        DistributedRuntime.AbortQuietly(exitCode);
        Native.ImmediateExit.Now(exitCode);
    }

    // .NET names the common signals with negative values; the exit code follows the OS numbers.
    private static int SignalNumber(PosixSignal s) => s switch
    {
        PosixSignal.SIGHUP => 1,
        PosixSignal.SIGINT => 2,
        PosixSignal.SIGQUIT => 3,
        PosixSignal.SIGTERM => 15,
        _ => 0,
    };

    /// <summary>
    /// At the end of <paramref name="step"/>: true when any rank of <paramref name="world"/> asked to stop. Collective
    /// (one all-reduce of a single value) when the world has more than one rank.
    /// </summary>
    public bool AgreeAfterStep(int step, IProcessGroup world)
    {
        if (_hook is { } h && h.Step == step && (h.Rank == null || h.Rank == world.Rank)) Request(StopAtStepVariable);
        if (world.Size == 1) return IsRequested;
        long start = Stopwatch.GetTimestamp();
        using var flag = tensor(new[] { IsRequested ? 1f : 0f }, device: world.Device);
        world.AllReduce(flag, ReduceOp.Max);
        bool stop = flag.item<float>() > 0;
        if (_checkMicroseconds.Count < 100_000) _checkMicroseconds.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
        if (stop) Request("another rank");
        return stop;
    }

    private static (int, int?)? ParseHook(string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) return null;
        var parts = value.Split('@');
        if (!int.TryParse(parts[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out int step)) return null;
        return parts.Length > 1 && int.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out int rank) ? (step, rank) : (step, null);
    }

    public void Dispose()
    {
        foreach (var r in _registrations) r.Dispose();
        _registrations.Clear();
    }
}
