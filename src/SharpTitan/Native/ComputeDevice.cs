using TorchSharp;
using static TorchSharp.torch;

namespace SharpTitan.Native;

/// <summary>
/// The one place that names device types. A job's device is chosen here once and passed down: the model, batches,
/// buffers, process groups, memory metrics and the MFU peak all take it from there. CPU today; the CUDA build adds
/// the other side here (cuda:local_rank) and nowhere else.
/// </summary>
public static class ComputeDevice
{
    /// <summary>The device type libtorch is initialized for.</summary>
    internal const DeviceType LoadedType = DeviceType.CPU;

    /// <summary>The host: where data is read, and where MPI collectives work.</summary>
    public static Device Cpu => torch.CPU;

    /// <summary>The device this job computes on.</summary>
    public static Device Choose()
    {
        TorchRuntime.EnsureLoaded();
        return Cpu;
    }

    public static bool IsCpu(Device device) => device.type == DeviceType.CPU;

    /// <summary>Whether <paramref name="t"/> lives on <paramref name="device"/>.</summary>
    public static bool IsOn(Tensor t, Device device) =>
        t.device_type == device.type && (device.index < 0 || t.device_index == device.index);

    /// <summary>Moves a module's parameters and buffers to <paramref name="device"/> when any is elsewhere.</summary>
    public static void Place(nn.Module module, Device device)
    {
        if (module.parameters().Any(p => !IsOn(p, device))) module.to(device);
    }
}
