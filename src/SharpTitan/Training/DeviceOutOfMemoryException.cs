using System.Runtime.InteropServices;

namespace SharpTitan.Training;

/// <summary>The device ran out of memory during a step; the message names the step, the memory and what to change.</summary>
public sealed class DeviceOutOfMemoryException(string message, Exception inner) : Exception(message, inner)
{
    /// <summary>Whether libtorch's error is an allocation failure (CUDA's caching allocator or the host's).</summary>
    public static bool IsOutOfMemory(Exception e) =>
        e is ExternalException && e.Message.Contains("out of memory", StringComparison.OrdinalIgnoreCase);

    internal static DeviceOutOfMemoryException At(int step, Exception e, double peakGiB, double capacityGiB) =>
        new($"step {step}: the device ran out of memory ({peakGiB:F2} GiB in use at the peak of {capacityGiB:F2} GiB; " +
            $"libtorch: {e.Message.Split('\n')[0].Trim()}); use less: activation_checkpoint.mode = \"full\" or \"selective\", " +
            "a smaller training.local_batch_size (keep global_batch_size to accumulate), or more data-parallel ranks", e);
}
