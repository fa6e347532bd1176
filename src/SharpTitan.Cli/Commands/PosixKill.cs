using System.Runtime.InteropServices;

namespace SharpTitan.Cli.Commands;

/// <summary>Sends a POSIX signal to a process (.NET can only send SIGKILL, through Process.Kill).</summary>
internal static partial class PosixKill
{
    public const int SigInt = 2, SigTerm = 15, SigUsr1 = 10;

    [LibraryImport("libc.so.6", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    /// <summary>True when the signal was delivered (false: the process is gone).</summary>
    public static bool Send(int pid, int signal) => Kill(pid, signal) == 0;
}
