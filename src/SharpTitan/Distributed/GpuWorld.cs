using SharpTitan.Distributed.Nccl;
using TorchSharp;

namespace SharpTitan.Distributed;

/// <summary>
/// The world the parallel transforms' collectives run over on GPUs: NCCL with one rank per GPU; when more ranks than
/// GPUs run on a host (NCCL refuses two ranks on one GPU), the MPI world staged through host memory, so such a job
/// still runs (slowly; for tests and debugging on one GPU).
/// </summary>
public static class GpuWorld
{
    public static IProcessGroup Create(IProcessGroup mpiWorld, torch.Device device, Action<string> log)
    {
        if (!RanksShareGpus(out int local, out int gpus)) return NcclProcessGroup.Create(mpiWorld, device);
        log($"collectives: {local} ranks on this host share {gpus} GPU(s), which NCCL cannot do: MPI through host memory (every collective copies its tensors to the host and back; slow)");
        return new HostStagedProcessGroup(mpiWorld, device);
    }

    /// <summary>More ranks on this host (OpenMPI's or MPICH's local size) than GPUs.</summary>
    public static bool RanksShareGpus(out int localRanks, out int gpus)
    {
        gpus = torch.cuda.device_count();
        var variable = Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_LOCAL_SIZE") ?? Environment.GetEnvironmentVariable("MPI_LOCALNRANKS");
        return int.TryParse(variable, out localRanks) && localRanks > gpus;
    }
}
