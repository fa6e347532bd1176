using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SharpTitan.Native;

/// <summary>
/// Every libtorch operator as a trace span (what torch.profiler records), through libtorch's RecordFunction
/// observer API, which TorchSharp does not bind: at::addGlobalCallback takes an at::RecordFunctionCallback by value
/// (two function pointers, a sampling probability, one flag per RecordScope and three needs_* flags: 40 bytes, passed
/// in memory), and every dispatched operator and autograd node then calls our start and end functions with its
/// at::RecordFunction, whose name() (exported) is the operator's ("aten::mm", "autograd::engine::evaluate_function:
/// MmBackward0"). The start callback returns a std::unique_ptr, which the C++ ABI returns through a hidden pointer
/// to the result slot: we write null there (no observer context). Shapes are not recorded (they need the inputs'
/// IValues). Spans nest per thread, so each thread keeps its own stack of open operators.
/// </summary>
internal static unsafe partial class OpRecorder
{
    private const string Lib = "torch_cpu";
    private const int Scopes = 10; // at::RecordScope::NUM_SCOPES

    [StructLayout(LayoutKind.Sequential)]
    private struct RecordFunctionCallback
    {
        public nint Start;
        public nint End;
        public double SamplingProbability;
        public fixed byte ScopeEnabled[Scopes];
        public byte NeedsInputs, NeedsOutputs, NeedsIds;
    }

    [LibraryImport(Lib, EntryPoint = "_ZN2at17addGlobalCallbackENS_22RecordFunctionCallbackE")]
    private static partial ulong AddGlobalCallback(RecordFunctionCallback callback);

    [LibraryImport(Lib, EntryPoint = "_ZN2at14removeCallbackEm")]
    private static partial void RemoveCallback(ulong handle);

    [LibraryImport(Lib, EntryPoint = "_ZNK2at14RecordFunction4nameEv")]
    private static partial nint Name(nint recordFunction);

    private static readonly object Gate = new();
    private static ulong _handle;
    private static Action<string, double, double>? _sink;

    [ThreadStatic] private static Stack<(nint Function, double StartUs)>? _open;

    /// <summary>
    /// Starts calling <paramref name="sink"/>(name, start µs, duration µs) for every operator that ends, on the thread
    /// it ran on; <paramref name="now"/> gives the timestamps (the tracer's clock).
    /// </summary>
    public static void Start(Action<string, double, double> sink, Func<double> now)
    {
        lock (Gate)
        {
            if (_handle != 0) return;
            TorchRuntime.EnsureLoaded();
            _sink = sink;
            _now = now;
            var callback = new RecordFunctionCallback
            {
                Start = (nint)(delegate* unmanaged<nint*, nint, nint*>)&OnStart,
                End = (nint)(delegate* unmanaged<nint, nint, void>)&OnEnd,
                SamplingProbability = 1.0,
            };
            for (int i = 0; i < Scopes; i++) callback.ScopeEnabled[i] = 1;
            _handle = AddGlobalCallback(callback);
        }
    }

    public static void Stop()
    {
        lock (Gate)
        {
            if (_handle == 0) return;
            RemoveCallback(_handle);
            _handle = 0;
            _sink = null;
        }
    }

    private static Func<double> _now = () => 0;

    [UnmanagedCallersOnly]
    private static nint* OnStart(nint* result, nint recordFunction)
    {
        *result = 0; // no ObserverContext
        try { (_open ??= new()).Push((recordFunction, _now())); }
        catch (Exception) { } // nothing may cross into libtorch
        return result;
    }

    [UnmanagedCallersOnly]
    private static void OnEnd(nint recordFunction, nint context)
    {
        try
        {
            var open = _open;
            if (open == null) return;
            // An operator that started on another thread (async) or before recording began has no entry here.
            while (open.Count > 0)
            {
                var (function, start) = open.Pop();
                if (function != recordFunction) continue;
                if (_sink is { } sink) sink(Marshal.PtrToStringUTF8(Name(recordFunction)) ?? "?", start, _now() - start);
                return;
            }
        }
        catch (Exception) { }
    }
}
