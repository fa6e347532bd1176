using SharpTitan.Native;
using static TorchSharp.torch;

namespace SharpTitan.Metrics;

/// <summary>
/// The memory figure of the metrics line for the job's device: on CPU the process's resident memory against the
/// machine's. A GPU build adds the device allocator's figures as another implementation.
/// </summary>
internal abstract class DeviceMemory
{
    public static DeviceMemory For(Device device) => ComputeDevice.IsCpu(device)
        ? new HostMemory()
        : throw new NotSupportedException($"memory metrics for {device}: only the CPU is built yet");

    /// <summary>Bytes in use now.</summary>
    public abstract long UsedBytes();

    /// <summary>Bytes the device has in all.</summary>
    public abstract long CapacityBytes();

    private sealed class HostMemory : DeviceMemory
    {
        public override long UsedBytes() => ProcessMemory.RssBytes();
        public override long CapacityBytes() => ProcessMemory.MachineBytes();
    }
}
