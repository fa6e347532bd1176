using System.Runtime.InteropServices;
using TorchSharp;

namespace SharpTitan.Native;

/// <summary>
/// libtorch's autocast, which TorchSharp does not bind: the C++ functions of at::autocast exported by
/// libtorch_cpu.so (mangled names from `nm -D`), for the CPU and for CUDA (the CUDA autocast dtype is set the same
/// way). The state is thread-local in libtorch, like torch.autocast. c10::DeviceType and c10::ScalarType are 8-bit
/// enums (CPU = 0, CUDA = 1).
/// </summary>
internal static partial class Autocast
{
    private const string Lib = "torch_cpu";
    private const sbyte Cpu = 0, Cuda = 1;

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

    /// <summary>Whether autocast is on for the device type of the innermost <see cref="Enable"/> on this thread.</summary>
    public static bool IsEnabled { get { TorchRuntime.EnsureLoaded(); return GetEnabled(Kind(DeviceType)); } }

    [ThreadStatic] private static torch.ScalarType? _dtype;
    [ThreadStatic] private static DeviceType? _deviceType;

    /// <summary>The dtype of the innermost <see cref="Enable"/> on this thread (bf16 when none).</summary>
    public static torch.ScalarType Dtype { get => _dtype ?? torch.ScalarType.BFloat16; private set => _dtype = value; }

    /// <summary>The device type of the innermost <see cref="Enable"/> on this thread (the CPU when none).</summary>
    public static DeviceType DeviceType { get => _deviceType ?? DeviceType.CPU; private set => _deviceType = value; }

    private static sbyte Kind(DeviceType type) => type == DeviceType.CUDA ? Cuda : Cpu;

    /// <summary>
    /// Autocast to <paramref name="dtype"/> on <paramref name="deviceType"/> until disposed (torch.autocast(device,
    /// dtype)): matmuls and linears run in that dtype, precision-sensitive ops in fp32. Leaving the outermost scope
    /// clears the cast cache (the low-precision copies of the weights made during the forward).
    /// </summary>
    public static IDisposable Enable(torch.ScalarType dtype, DeviceType deviceType = DeviceType.CPU)
    {
        TorchRuntime.EnsureLoaded();
        sbyte kind = Kind(deviceType);
        bool previous = GetEnabled(kind);
        var previousDtype = Dtype;
        var previousDevice = DeviceType;
        SetEnabled(kind, true);
        SetDtype(kind, (sbyte)dtype);
        Dtype = dtype;
        DeviceType = deviceType;
        IncrementNesting();
        return new Scope(kind, previous, previousDtype, previousDevice);
    }

    private sealed class Scope(sbyte kind, bool previous, torch.ScalarType previousDtype, DeviceType previousDevice) : IDisposable
    {
        private bool _done;
        public void Dispose()
        {
            if (_done) return;
            _done = true;
            if (DecrementNesting() == 0) ClearCache();
            SetEnabled(kind, previous);
            SetDtype(kind, (sbyte)previousDtype);
            Dtype = previousDtype;
            DeviceType = previousDevice;
        }
    }
}
