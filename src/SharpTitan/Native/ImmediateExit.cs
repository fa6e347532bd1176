using System.Runtime.InteropServices;

namespace SharpTitan.Native;

/// <summary>
/// Ends the process now with an exit code, running no exit handlers. Environment.Exit would run libtorch's static
/// destructors while another thread is still inside a kernel, which can crash the process (exit 139) instead.
/// </summary>
internal static partial class ImmediateExit
{
    [LibraryImport("libc.so.6", EntryPoint = "_exit")]
    private static partial void Exit(int status);

    public static void Now(int exitCode)
    {
        try
        {
            Console.Out.Flush();
            Console.Error.Flush();
        }
        catch (IOException) { /* the exit matters more */ }
        Exit(exitCode);
    }
}
