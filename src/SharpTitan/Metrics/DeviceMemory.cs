using SharpTitan.Native;
using static TorchSharp.torch;

namespace SharpTitan.Metrics;

/// <summary>
/// The memory figure of the metrics line for the job's device: on CPU the process's resident memory against the
/// machine's. A GPU build reports the device allocator's figures here.
/// </summary>
public sealed class DeviceMemory
{
    private DeviceMemory() { }

    public static DeviceMemory For(Device device) => ComputeDevice.IsCpu(device)
        ? new DeviceMemory()
        : throw new NotSupportedException($"memory metrics for {device}: only the CPU is built yet");

    /// <summary>Bytes in use now.</summary>
    public long UsedBytes() => ProcessMemory.RssBytes();

    /// <summary>Bytes the device has in all.</summary>
    public long CapacityBytes() => ProcessMemory.MachineBytes();
}
