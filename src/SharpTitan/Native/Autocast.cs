using System.Runtime.InteropServices;
using TorchSharp;

namespace SharpTitan.Native;

/// <summary>
/// libtorch's CPU autocast, which TorchSharp does not bind: the C++ functions of at::autocast exported by
/// libtorch_cpu.so (mangled names from `nm -D`). The state is thread-local in libtorch, like torch.autocast.
/// c10::DeviceType and c10::ScalarType are 8-bit enums (CPU = 0).
/// </summary>
internal static partial class Autocast
{
    private const string Lib = "torch_cpu";
    private const sbyte Cpu = 0;

    [LibraryImport(Lib, EntryPoint = "_ZN2at8autocast20set_autocast_enabledEN3c1010DeviceTypeEb")]
    private static partial void SetEnabled(sbyte device, [MarshalAs(UnmanagedType.U1)] bool enabled);

    [LibraryImport(Lib, EntryPoint = "_ZN2at8autocast19is_autocast_enabledEN3c1010DeviceTypeE")]
    [return: MarshalAs(UnmanagedType.U1)]
    private static partial bool GetEnabled(sbyte device);

    [LibraryImport(Lib, EntryPoint = "_ZN2at8autocast18set_autocast_dtypeEN3c1010DeviceTypeENS1_10ScalarTypeE")]
    private static partial void SetDtype(sbyte device, sbyte dtype);

    [LibraryImport(Lib, EntryPoint = "_ZN2at8autocast17increment_nestingEv")]
    private static partial long IncrementNesting();

    [LibraryImport(Lib, EntryPoint = "_ZN2at8autocast17decrement_nestingEv")]
    private static partial long DecrementNesting();

    [LibraryImport(Lib, EntryPoint = "_ZN2at8autocast11clear_cacheEv")]
    private static partial void ClearCache();

    public static bool IsEnabled { get { TorchRuntime.EnsureLoaded(); return GetEnabled(Cpu); } }

    [ThreadStatic] private static torch.ScalarType? _dtype;

    /// <summary>The dtype of the innermost <see cref="Enable"/> on this thread (bf16 when none).</summary>
    public static torch.ScalarType Dtype { get => _dtype ?? torch.ScalarType.BFloat16; private set => _dtype = value; }

    /// <summary>
    /// CPU autocast to <paramref name="dtype"/> until disposed (torch.autocast("cpu", dtype)): matmuls and linears
    /// run in that dtype, precision-sensitive ops in fp32. Leaving the outermost scope clears the cast cache (the
    /// low-precision copies of the weights made during the forward).
    /// </summary>
    public static IDisposable Enable(torch.ScalarType dtype)
    {
        TorchRuntime.EnsureLoaded();
        bool previous = GetEnabled(Cpu);
        var previousDtype = Dtype;
        SetEnabled(Cpu, true);
        SetDtype(Cpu, (sbyte)dtype);
        Dtype = dtype;
        IncrementNesting();
        return new Scope(previous, previousDtype);
    }

    private sealed class Scope(bool previous, torch.ScalarType previousDtype) : IDisposable
    {
        private bool _done;
        public void Dispose()
        {
            if (_done) return;
            _done = true;
            if (DecrementNesting() == 0) ClearCache();
            SetEnabled(Cpu, previous);
            SetDtype(Cpu, (sbyte)previousDtype);
            Dtype = previousDtype;
        }
    }
}
