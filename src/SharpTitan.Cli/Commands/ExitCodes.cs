using SharpTitan.Distributed;
using SharpTitan.Training;

namespace SharpTitan.Cli.Commands;

/// <summary>Every exit code of the `sharptitan` verbs (README, "Exit codes and signals", lists them).</summary>
public static class ExitCodes
{
    public const int Success = 0;
    /// <summary>A failure that is no input error: an exception on some rank, a diverged loss, a failed download.</summary>
    public const int Failure = DistributedRuntime.FailureExitCode;
    /// <summary>Bad input: the command line, the config, a missing or malformed file. One line on stderr (rank 0's).</summary>
    public const int InputError = 2;
    /// <summary>Stopped on request (SIGTERM, SIGINT, or SIGUSR1 from `launch`) after saving: run the same command again to resume.</summary>
    public const int Preempted = StopRequest.PreemptedExitCode;
    /// <summary>A file-system error (disk full, read-only or forbidden folder, a file in the way): one line naming the path.</summary>
    public const int StorageError = SharpTitan.IO.StorageException.ExitCode;
    /// <summary>A collective outlived comm.init_timeout_seconds / comm.train_timeout_seconds (the watchdog ended the job).</summary>
    public const int WatchdogTimeout = DistributedRuntime.TimeoutExitCode;
    /// <summary>Plus the signal's number: stopped at once by a second signal (130 SIGINT, 138 SIGUSR1, 143 SIGTERM).</summary>
    public const int SignalBase = 128;

    /// <summary>Codes whose reason rank 0 has already printed in one line (mpirun's notice about them adds nothing).</summary>
    public static bool ExplainedByTheRanks(int code) => code is InputError or Preempted or StorageError;
}
