using SharpTitan.Native;
using static TorchSharp.torch;

namespace SharpTitan.Metrics;

/// <summary>
/// The memory figure of the metrics line, torchtitan's meaning: the peak since the last log line. On the CPU the
/// process's peak resident memory against the machine's; on a GPU the CUDA caching allocator's peak reserved bytes
/// (torch.cuda.max_memory_reserved) against the device's memory.
/// </summary>
internal abstract class DeviceMemory
{
    public static DeviceMemory For(Device device) => ComputeDevice.IsCuda(device)
        ? new CudaMemory(ComputeDevice.CudaIndex(device))
        : new HostMemory();

    /// <summary>The peak bytes in use since the last <see cref="ResetPeak"/> (or since the start).</summary>
    public abstract long PeakBytes();

    /// <summary>Starts a new peak window.</summary>
    public abstract void ResetPeak();

    /// <summary>Bytes the device has in all.</summary>
    public abstract long CapacityBytes();

    private sealed class HostMemory : DeviceMemory
    {
        public override long PeakBytes() => ProcessMemory.WindowPeakRssBytes();
        public override void ResetPeak() => ProcessMemory.ResetPeakRss();
        public override long CapacityBytes() => ProcessMemory.MachineBytes();
    }

    private sealed class CudaMemory(int index) : DeviceMemory
    {
        private readonly long _capacity = CudaNative.Properties(index).TotalBytes;
        public override long PeakBytes() => CudaNative.Memory(index).PeakReserved;
        public override void ResetPeak() => CudaNative.ResetPeak(index);
        public override long CapacityBytes() => _capacity;
    }
}
