namespace SharpTitan.Config;

/// <summary>training.device: where a job computes.</summary>
public enum DeviceChoice
{
    /// <summary>CUDA when a CUDA libtorch loads and sees a GPU, else the CPU.</summary>
    Auto,
    /// <summary>The CPU, even where a GPU is there.</summary>
    Cpu,
    /// <summary>The GPU of this rank (local rank modulo the GPUs seen); an error when CUDA cannot be loaded.</summary>
    Cuda,
}
