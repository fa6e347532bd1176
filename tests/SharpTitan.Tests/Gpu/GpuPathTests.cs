using System.Runtime.InteropServices;
using SharpTitan.Config;
using SharpTitan.Distributed;
using SharpTitan.Distributed.Nccl;
using SharpTitan.Metrics;
using SharpTitan.Native;
using SharpTitan.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace SharpTitan.Tests.Gpu;

/// <summary>
/// The GPU path's parts that can be checked without a GPU (CI has none): device choice and its errors, the NCCL
/// binding's marshalling, the datasheet peaks, autocast per device type, the memory window and the backward scope.
/// What needs the GPU runs in benchmarks/gpu/run.sh (README, "GPU").
/// </summary>
public class GpuPathTests
{
    public GpuPathTests() => TestSetup.Torch();

    [Fact]
    public void AutoFallsBackToTheCpuAndCudaWithoutItIsOneLineNamingWhatWasLookedFor()
    {
        Assert.True(ComputeDevice.IsCpu(ComputeDevice.Choose(DeviceChoice.Auto)));
        Assert.True(ComputeDevice.IsCpu(ComputeDevice.Choose(DeviceChoice.Cpu)));
        var e = Assert.Throws<ConfigException>(() => ComputeDevice.Choose(DeviceChoice.Cuda));
        Assert.StartsWith("'training.device' = \"cuda\": libtorch_cuda.so was looked for next to TorchSharp.dll", e.Message);
        Assert.Contains("LD_LIBRARY_PATH", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void TrainWithCudaOnACpuMachineExitsTwoWithOneLine()
    {
        using var dump = new Data.TempDir();
        var r = InProcessCli.Run(["train", .. TinyConfig.Arguments(steps: 1), "--job.dump_folder", dump.Path, "--training.device", "cuda"]);
        Assert.Equal(2, r.Code);
        Assert.Single(r.Err.Trim().Split('\n'));
        var bad = InProcessCli.Run(["config", .. TinyConfig.Arguments(steps: 1), "--training.device", "gpu"]);
        Assert.Equal(2, bad.Code);
        Assert.Contains("training.device", bad.Err);
        Assert.Contains("cuda", bad.Err);
    }

    [Theory]
    [InlineData("OMPI_COMM_WORLD_LOCAL_RANK", "3", 3)]
    [InlineData("MPI_LOCALRANKID", "2", 2)]
    [InlineData("LOCAL_RANK", "1", 1)]
    public void TheLocalRankComesFromTheLauncher(string variable, string value, int expected)
    {
        var names = new[] { "OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "LOCAL_RANK", "SLURM_LOCALID" };
        var saved = names.ToDictionary(n => n, Environment.GetEnvironmentVariable);
        try
        {
            foreach (var n in names) Environment.SetEnvironmentVariable(n, null);
            Assert.Equal(0, ComputeDevice.LocalRank());
            Environment.SetEnvironmentVariable(variable, value);
            Assert.Equal(expected, ComputeDevice.LocalRank());
        }
        finally
        {
            foreach (var (n, v) in saved) Environment.SetEnvironmentVariable(n, v);
        }
    }

    [Theory]
    [InlineData("NVIDIA H200", 989.0)]
    [InlineData("NVIDIA H100 80GB HBM3", 989.0)]
    [InlineData("NVIDIA H100 PCIe", 756.0)]
    [InlineData("NVIDIA H100 NVL", 835.0)]
    [InlineData("NVIDIA A100-SXM4-80GB", 312.0)]
    [InlineData("Tesla T4", null)]
    public void GpuPeaksComeFromTheDatasheetByName(string name, double? peak) =>
        Assert.Equal(peak, PeakFlops.GpuDatasheetPeak(name));

    [Fact]
    public void NcclTypesAndOpsMarshalAsNcclDefinesThem()
    {
        Assert.Equal(NcclLibrary.UniqueIdBytes, Marshal.SizeOf<NcclUniqueId>()); // passed by value to ncclCommInitRank
        Assert.Equal(128, NcclLibrary.UniqueIdBytes);
        Assert.Equal(7, NcclLibrary.DataType(ScalarType.Float32));
        Assert.Equal(9, NcclLibrary.DataType(ScalarType.BFloat16));
        Assert.Equal(6, NcclLibrary.DataType(ScalarType.Float16));
        Assert.Equal(8, NcclLibrary.DataType(ScalarType.Float64));
        Assert.Equal(4, NcclLibrary.DataType(ScalarType.Int64));
        Assert.Equal(2, NcclLibrary.DataType(ScalarType.Int32));
        Assert.Equal(1, NcclLibrary.DataType((ScalarType)24)); // float8 e4m3fn travels as bytes
        Assert.False(NcclLibrary.Reducible((ScalarType)24));
        Assert.True(NcclLibrary.Reducible(ScalarType.Byte));
        Assert.Throws<ArgumentException>(() => NcclLibrary.DataType(ScalarType.ComplexFloat32));
        Assert.Equal((0, 2, 3, 4), (NcclLibrary.Op(ReduceOp.Sum), NcclLibrary.Op(ReduceOp.Max), NcclLibrary.Op(ReduceOp.Min), NcclLibrary.Op(ReduceOp.Avg)));
    }

    [Fact]
    public void AnNcclGroupNeedsACudaDevice()
    {
        var e = Assert.Throws<ArgumentException>(() => NcclProcessGroup.Create(new SingleProcessGroup(), ComputeDevice.Cpu));
        Assert.Contains("CUDA device", e.Message);
    }

    [Fact]
    public void AMissingNcclIsOneLineNamingThePathsTried()
    {
        if (File.Exists("/usr/lib/x86_64-linux-gnu/libnccl.so.2")) return; // a machine with a system NCCL checks loading elsewhere
        var saved = Environment.GetEnvironmentVariable("SHARPTITAN_NCCL_PATH");
        try
        {
            Environment.SetEnvironmentVariable("SHARPTITAN_NCCL_PATH", "/no/such/libnccl.so.2");
            var e = Assert.Throws<InvalidOperationException>(NcclLibrary.EnsureLoaded);
            Assert.StartsWith("NCCL (libnccl.so.2) was not found; tried ", e.Message);
            Assert.Contains("libnccl.so.2", e.Message);
            Assert.DoesNotContain('\n', e.Message);
        }
        finally { Environment.SetEnvironmentVariable("SHARPTITAN_NCCL_PATH", saved); }
    }

    [Fact]
    public void AutocastRemembersTheDeviceTypeOfTheInnermostScope()
    {
        Assert.False(Autocast.IsEnabled);
        using (Autocast.Enable(ScalarType.BFloat16, DeviceType.CUDA))
        {
            Assert.Equal(DeviceType.CUDA, Autocast.DeviceType);
            Assert.True(Autocast.IsEnabled);
            using (Autocast.Enable(ScalarType.Float16))
            {
                Assert.Equal(DeviceType.CPU, Autocast.DeviceType);
                Assert.Equal(ScalarType.Float16, Autocast.Dtype);
            }
            Assert.Equal(DeviceType.CUDA, Autocast.DeviceType);
            Assert.Equal(ScalarType.BFloat16, Autocast.Dtype);
        }
        Assert.Equal(DeviceType.CPU, Autocast.DeviceType);
        Assert.False(Autocast.IsEnabled);
    }

    [Fact]
    public void TheHostMemoryFigureIsThePeakSinceTheLastReset()
    {
        var memory = DeviceMemory.For(ComputeDevice.Cpu);
        memory.ResetPeak();
        long before = memory.PeakBytes();
        using (var big = ones(96L << 20)) // 384 MiB, touched
            Assert.True(memory.PeakBytes() >= before + (300L << 20), $"{memory.PeakBytes()} vs {before}");
        long lifetime = ProcessMemory.PeakRssBytes();
        memory.ResetPeak();
        Assert.True(memory.PeakBytes() < lifetime - (200L << 20), $"after reset {memory.PeakBytes()}, lifetime peak {lifetime}");
        Assert.True(ProcessMemory.PeakRssBytes() >= lifetime); // the process-lifetime peak is kept
    }

    [Fact]
    public void AnOutOfMemoryStepIsOneLineWithTheStepTheMemoryAndWhatToChange()
    {
        var libtorch = new LibtorchError("CUDA out of memory. Tried to allocate 20.00 GiB. GPU 0 has a total capacity of 139.81 GiB\nException raised from malloc at ...");
        Assert.True(SharpTitan.Training.DeviceOutOfMemoryException.IsOutOfMemory(libtorch));
        Assert.False(SharpTitan.Training.DeviceOutOfMemoryException.IsOutOfMemory(new LibtorchError("shape mismatch")));
        var e = SharpTitan.Training.DeviceOutOfMemoryException.At(7, libtorch, 131.5, 139.8);
        Assert.StartsWith("step 7: the device ran out of memory (131.50 GiB in use at the peak of 139.80 GiB; libtorch: CUDA out of memory. Tried to allocate 20.00 GiB.", e.Message);
        Assert.Contains("activation_checkpoint.mode", e.Message);
        Assert.Contains("training.local_batch_size", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void BackwardScopeDisposesWhatItMadeAndTheHandedOutGradientsAtTheNextBackward()
    {
        var gradOutput = ones(4);
        Tensor made, handed;
        using (var scope = new BackwardScope(gradOutput))
        {
            made = gradOutput * 2;
            handed = gradOutput * 3;
            scope.HandOut(handed, null);
        }
        Assert.True(made.IsInvalid);
        Assert.False(handed.IsInvalid); // libtorch copies it when backward returns
        Assert.False(gradOutput.IsInvalid);
        using (new BackwardScope(zeros(1))) { }
        Assert.True(handed.IsInvalid);
        Assert.True(gradOutput.IsInvalid);
    }
}

/// <summary>What TorchSharp throws for a libtorch error (an ExternalException), without raising the reserved type itself.</summary>
internal sealed class LibtorchError(string message) : ExternalException(message);
