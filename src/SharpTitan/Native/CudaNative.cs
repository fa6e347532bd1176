using System.Runtime.InteropServices;
using System.Text;

namespace SharpTitan.Native;

/// <summary>
/// SharpTitan's CUDA helper library (native/sharptitan_cuda.cpp, built by build/libtorchsharp.sh against the libtorch
/// in use): the caching allocator's memory figures, device properties, streams and events, which TorchSharp does not
/// bind. Loaded only on the CUDA path; every call reports failure with the helper's error text.
/// </summary>
internal static partial class CudaNative
{
    public const string Lib = "SharpTitanCuda";
    public const string FileName = "libSharpTitanCuda.so";

    [LibraryImport(Lib, EntryPoint = "st_cuda_last_error")] private static partial nint LastErrorPtr();
    [LibraryImport(Lib, EntryPoint = "st_cuda_memory_stats")] private static unsafe partial int MemoryStats(int device, long* stats);
    [LibraryImport(Lib, EntryPoint = "st_cuda_reset_peak")] private static partial int ResetPeakNative(int device);
    [LibraryImport(Lib, EntryPoint = "st_cuda_device_properties")]
    private static unsafe partial int DeviceProperties(int device, byte* name, int nameLength, out long totalBytes, out int major, out int minor);
    [LibraryImport(Lib, EntryPoint = "st_cuda_set_device")] private static partial int SetDeviceNative(int device);
    [LibraryImport(Lib, EntryPoint = "st_cuda_current_stream")] public static partial nint CurrentStream(int device);
    [LibraryImport(Lib, EntryPoint = "st_cuda_stream_from_pool")] public static partial nint StreamFromPool(int device, int highPriority);
    [LibraryImport(Lib, EntryPoint = "st_cuda_set_current_stream")] private static partial int SetCurrentStreamNative(int device, nint stream);
    [LibraryImport(Lib, EntryPoint = "st_cuda_event_create")] private static partial nint EventCreateNative();
    [LibraryImport(Lib, EntryPoint = "st_cuda_event_destroy")] private static partial int EventDestroyNative(nint evt);
    [LibraryImport(Lib, EntryPoint = "st_cuda_event_record")] private static partial int EventRecordNative(nint evt, nint stream);
    [LibraryImport(Lib, EntryPoint = "st_cuda_stream_wait_event")] private static partial int StreamWaitEventNative(nint stream, nint evt);
    [LibraryImport(Lib, EntryPoint = "st_cuda_event_synchronize")] private static partial int EventSynchronizeNative(nint evt);
    [LibraryImport(Lib, EntryPoint = "st_cuda_event_query")] private static partial int EventQueryNative(nint evt);
    [LibraryImport(Lib, EntryPoint = "st_cuda_stream_synchronize")] private static partial int StreamSynchronizeNative(nint stream);
    [LibraryImport(Lib, EntryPoint = "st_cuda_record_stream")] private static partial int RecordStreamNative(nint tensor, nint stream, int device);

    private static string LastError => Marshal.PtrToStringUTF8(LastErrorPtr()) ?? "unknown error";

    private static void Check(int rc, string what)
    {
        if (rc != 0) throw new InvalidOperationException($"CUDA {what} failed: {LastError}");
    }

    /// <summary>The caching allocator's bytes: reserved now, reserved peak, allocated now, allocated peak.</summary>
    public static unsafe (long Reserved, long PeakReserved, long Allocated, long PeakAllocated) Memory(int device)
    {
        long* s = stackalloc long[4];
        Check(MemoryStats(device, s), "memory statistics");
        return (s[0], s[1], s[2], s[3]);
    }

    public static void ResetPeak(int device) => Check(ResetPeakNative(device), "peak memory reset");

    public static unsafe (string Name, long TotalBytes, int Major, int Minor) Properties(int device)
    {
        byte* name = stackalloc byte[256];
        Check(DeviceProperties(device, name, 256, out long total, out int major, out int minor), "device properties");
        return (Encoding.UTF8.GetString(name, new ReadOnlySpan<byte>(name, 256).IndexOf((byte)0)), total, major, minor);
    }

    public static void SetDevice(int device) => Check(SetDeviceNative(device), "set device");

    public static void SetCurrentStream(int device, nint stream) => Check(SetCurrentStreamNative(device, stream), "set current stream");

    public static nint EventCreate()
    {
        nint e = EventCreateNative();
        if (e == 0) throw new InvalidOperationException($"CUDA event create failed: {LastError}");
        return e;
    }

    /// <summary>Releases the event (CUDA frees it once work recorded on it has run).</summary>
    public static void EventDestroy(nint evt) => Check(EventDestroyNative(evt), "event destroy");
    public static void EventRecord(nint evt, nint stream) => Check(EventRecordNative(evt, stream), "event record");
    public static void StreamWaitEvent(nint stream, nint evt) => Check(StreamWaitEventNative(stream, evt), "stream wait event");
    public static void EventSynchronize(nint evt) => Check(EventSynchronizeNative(evt), "event synchronize");
    public static void StreamSynchronize(nint stream) => Check(StreamSynchronizeNative(stream), "stream synchronize");
    public static void RecordStream(TorchSharp.torch.Tensor t, nint stream, int device) => Check(RecordStreamNative(t.Handle, stream, device), "record stream");

    /// <summary>True once the event's work has run.</summary>
    public static bool EventDone(nint evt)
    {
        int rc = EventQueryNative(evt);
        if (rc < 0) throw new InvalidOperationException($"CUDA event query failed: {LastError}");
        return rc == 1;
    }
}
