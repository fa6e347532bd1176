using SharpTitan.Config;
using TorchSharp;
using static TorchSharp.torch;

namespace SharpTitan.Native;

/// <summary>
/// The one place that names device types. A job's device is chosen here once and passed down: the model, batches,
/// buffers, process groups, memory metrics and the MFU peak all take it from there.
/// </summary>
public static class ComputeDevice
{
    /// <summary>The device type libtorch is first initialized for (CUDA is added on top when chosen).</summary>
    internal const DeviceType LoadedType = DeviceType.CPU;

    /// <summary>The host: where data is read, and where MPI collectives work.</summary>
    public static Device Cpu => torch.CPU;

    /// <summary>The device this job computes on (training.device): this rank's GPU, or the CPU.</summary>
    public static Device Choose(DeviceChoice choice = DeviceChoice.Cpu)
    {
        TorchRuntime.EnsureLoaded();
        if (choice == DeviceChoice.Cpu) return Cpu;
        if (!CudaLoader.TryLoad(out string why))
        {
            if (choice == DeviceChoice.Cuda) throw new ConfigException($"'training.device' = \"cuda\": {why}");
            return Cpu;
        }
        int count = torch.cuda.device_count();
        return new Device(DeviceType.CUDA, LocalRank() % count);
    }

    public static bool IsCpu(Device device) => device.type == DeviceType.CPU;

    public static bool IsCuda(Device device) => device.type == DeviceType.CUDA;

    /// <summary>The GPU index of a CUDA device (its index, 0 when unset).</summary>
    internal static int CudaIndex(Device device) => Math.Max(0, (int)device.index);

    /// <summary>Whether <paramref name="t"/> lives on <paramref name="device"/>.</summary>
    public static bool IsOn(Tensor t, Device device) =>
        t.device_type == device.type && (device.index < 0 || t.device_index == device.index);

    /// <summary>Moves a module's parameters and buffers to <paramref name="device"/> when any is elsewhere.</summary>
    public static void Place(nn.Module module, Device device)
    {
        if (module.parameters().Any(p => !IsOn(p, device))) module.to(device);
    }

    /// <summary>A host copy of a device tensor (the caller disposes it), or null when it is on the host already.</summary>
    public static Tensor? HostCopy(Tensor t) => t.device_type == DeviceType.CPU ? null : t.cpu();

    /// <summary>Waits until the device has run all queued work (a no-op on the CPU), so that a timing is honest.</summary>
    public static void Synchronize(Device device)
    {
        if (IsCuda(device)) torch.cuda.synchronize(device);
    }

    /// <summary>The rank's index among the ranks of its host, from the launcher (OpenMPI, MPICH, torchrun, SLURM); 0 alone.</summary>
    public static int LocalRank()
    {
        foreach (var name in (string[])["OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "LOCAL_RANK", "SLURM_LOCALID"])
            if (int.TryParse(Environment.GetEnvironmentVariable(name), out int r) && r >= 0) return r;
        return 0;
    }
}
