using SharpTitan.Distributed.Mpi;

namespace SharpTitan.Distributed;

/// <summary>
/// Entry point of the distributed runtime. <see cref="Initialize"/> picks the backend: under mpirun (OpenMPI's
/// OMPI_COMM_WORLD_SIZE or MPICH's PMI_SIZE in the environment) the world is an <see cref="MpiProcessGroup"/>;
/// otherwise a <see cref="SingleProcessGroup"/> and MPI is never loaded. Under MPI it also makes any failure end
/// the whole job: an unhandled exception on one rank, a non-zero exit without finalizing, or a collective that
/// outlives the watchdog's timeout calls MPI_Abort after printing the rank and the reason.
/// </summary>
public static class DistributedRuntime
{
    /// <summary>Exit code of a job ended by an unhandled exception on some rank.</summary>
    public const int FailureExitCode = 1;
    /// <summary>Exit code of a job ended by the collective watchdog.</summary>
    public const int TimeoutExitCode = 124;

    private static readonly object Gate = new();
    private static IProcessGroup? _world;
    private static MpiRuntime? _mpi;

    /// <summary>True when this process was started by mpirun/mpiexec.</summary>
    public static bool LaunchedByMpi =>
        !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE")) ||
        !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("PMI_SIZE"));

    /// <summary>This process's world rank as mpirun/mpiexec set it (readable before MPI starts); null without them.</summary>
    public static int? LaunchRank =>
        int.TryParse(Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_RANK") ?? Environment.GetEnvironmentVariable("PMI_RANK"),
            System.Globalization.CultureInfo.InvariantCulture, out int rank) ? rank : null;

    /// <summary>The world group; <see cref="Initialize"/> must have run.</summary>
    public static IProcessGroup World =>
        _world ?? throw new InvalidOperationException("DistributedRuntime.Initialize() has not been called");

    public static bool IsInitialized => _world != null;

    /// <summary>
    /// The watchdog of the MPI backend (set <see cref="CollectiveWatchdog.InitTimeout"/> / TrainTimeout from the
    /// config, call BeginTraining after the first step); null for a single process, which has nothing to wait on.
    /// </summary>
    internal static CollectiveWatchdog? Watchdog => _mpi?.Watchdog;

    /// <summary>Starts the runtime once (later calls return the same world) and returns the world group.</summary>
    public static IProcessGroup Initialize()
    {
        lock (Gate)
        {
            if (_world != null) return _world;
            if (!LaunchedByMpi) return _world = new SingleProcessGroup();
            var mpi = new MpiRuntime(MpiLibrary.Load());
            _mpi = mpi;
            AppDomain.CurrentDomain.UnhandledException += OnUnhandledException;
            AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
            return _world = new MpiProcessGroup(mpi, mpi.Library.Handles.CommWorld, ownsComm: false, "world");
        }
    }

    /// <summary>Ends the job on every rank after printing <paramref name="message"/> (prefixed with the rank).</summary>
    public static void Abort(string message, int exitCode = FailureExitCode)
    {
        if (_mpi != null) _mpi.Abort($"rank {_mpi.WorldRank}: {message}", exitCode);
        Console.Error.WriteLine(message);
        Environment.Exit(exitCode);
    }

    /// <summary>
    /// Ends every rank of the job with <paramref name="exitCode"/> without printing anything (the caller has said
    /// why). Does nothing when MPI is not running.
    /// </summary>
    public static void AbortQuietly(int exitCode)
    {
        var mpi = _mpi;
        if (mpi == null || mpi.Library.IsFinalized) return;
        Console.Out.Flush();
        Console.Error.Flush();
        mpi.Library.Abort(mpi.Library.Handles.CommWorld, exitCode);
        Environment.Exit(exitCode);
    }

    /// <summary>
    /// Ends the runtime at the end of the program. With exit code 0: waits for queued async work, meets every
    /// rank at a barrier (under the watchdog, so a missing peer ends the job instead of hanging it), stops the
    /// helper threads and finalizes MPI. With any other code: aborts the job with that code. Safe to call twice.
    /// </summary>
    public static void Shutdown(int exitCode = 0)
    {
        lock (Gate)
        {
            var mpi = _mpi;
            if (mpi == null || mpi.Library.IsFinalized) return;
            if (exitCode != 0)
                mpi.Abort($"rank {mpi.WorldRank} is exiting with code {exitCode}; aborting the job", exitCode);
            mpi.CommThread.Dispose();
            _world?.Barrier();
            _world?.Dispose();
            mpi.Dispose();
        }
    }

    private static void OnUnhandledException(object sender, UnhandledExceptionEventArgs e)
    {
        var mpi = _mpi;
        if (mpi == null) return;
        var text = e.ExceptionObject is Exception ex ? $"{ex.GetType().Name}: {ex.Message}\n{ex.StackTrace}" : $"{e.ExceptionObject}";
        mpi.Abort($"rank {mpi.WorldRank} failed, aborting the job: {text}", FailureExitCode);
    }

    // A rank that leaves with an error code without finalizing would leave its peers blocked in collectives.
    private static void OnProcessExit(object? sender, EventArgs e) => Shutdown(Environment.ExitCode);
}
