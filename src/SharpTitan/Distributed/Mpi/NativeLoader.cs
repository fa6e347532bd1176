using System.Runtime.InteropServices;

namespace SharpTitan.Distributed.Mpi;

/// <summary>
/// dlopen with RTLD_GLOBAL. OpenMPI loads its components as plugins that resolve symbols of libmpi and
/// libopen-pal through the global namespace; .NET's NativeLibrary.Load opens libraries RTLD_LOCAL.
/// </summary>
internal static partial class NativeLoader
{
    private const int RtldNow = 0x2, RtldGlobal = 0x100;

    [LibraryImport("libc.so.6", EntryPoint = "dlopen", StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint DlOpen(string file, int mode);

    [LibraryImport("libc.so.6", EntryPoint = "dlerror")]
    private static partial nint DlError();

    public static bool TryLoadGlobal(string nameOrPath, out nint handle, out string error)
    {
        DlError(); // binds dlerror now: binding it after a failed dlopen would clear that failure's message
        handle = DlOpen(nameOrPath, RtldNow | RtldGlobal);
        error = handle == 0 ? Marshal.PtrToStringUTF8(DlError()) ?? "dlopen failed" : "";
        return handle != 0;
    }
}
