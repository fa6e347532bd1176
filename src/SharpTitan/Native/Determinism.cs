using System.Runtime.InteropServices;

namespace SharpTitan.Native;

/// <summary>
/// debug.deterministic, as torchtitan's set_determinism: libtorch's deterministic algorithms (an op without a
/// deterministic kernel then fails instead of running a nondeterministic one), cuDNN deterministic and not
/// benchmarking, and CUBLAS_WORKSPACE_CONFIG=:4096:8 so cuBLAS reductions run in a fixed order. TorchSharp binds none
/// of these: they are at::Context's member functions, exported by libtorch_cpu.so (a member function takes the object
/// as its first argument in the Itanium C++ ABI; bool is one byte).
/// </summary>
internal static partial class Determinism
{
    [LibraryImport("torch_cpu", EntryPoint = "_ZN2at13globalContextEv")]
    private static partial nint GlobalContext();

    [LibraryImport("torch_cpu", EntryPoint = "_ZN2at7Context26setDeterministicAlgorithmsEbb")]
    private static partial void SetDeterministicAlgorithms(nint context, byte enabled, byte warnOnly);

    [LibraryImport("torch_cpu", EntryPoint = "_ZNK2at7Context23deterministicAlgorithmsEv")]
    private static partial byte DeterministicAlgorithms(nint context);

    [LibraryImport("torch_cpu", EntryPoint = "_ZN2at7Context21setDeterministicCuDNNEb")]
    private static partial void SetDeterministicCuDNN(nint context, byte enabled);

    [LibraryImport("torch_cpu", EntryPoint = "_ZN2at7Context17setBenchmarkCuDNNEb")]
    private static partial void SetBenchmarkCuDNN(nint context, byte enabled);

    // .NET's Environment.SetEnvironmentVariable does not reach the C environment that cuBLAS reads.
    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnv(string name, string value, int overwrite);

    /// <summary>Turns determinism on or off for the process (before the first cuBLAS call for the workspace setting to apply).</summary>
    public static void Set(bool enabled)
    {
        TorchRuntime.EnsureLoaded();
        var context = GlobalContext();
        SetDeterministicAlgorithms(context, enabled ? (byte)1 : (byte)0, 0);
        SetDeterministicCuDNN(context, enabled ? (byte)1 : (byte)0);
        if (enabled)
        {
            SetBenchmarkCuDNN(context, 0);
            SetEnv("CUBLAS_WORKSPACE_CONFIG", ":4096:8", 0); // a value the user set wins
        }
    }

    /// <summary>Whether libtorch runs deterministic algorithms only (torch.are_deterministic_algorithms_enabled).</summary>
    public static bool Enabled
    {
        get
        {
            TorchRuntime.EnsureLoaded();
            return DeterministicAlgorithms(GlobalContext()) != 0;
        }
    }
}
