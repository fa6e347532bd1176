using System.Runtime.InteropServices;
using TorchSharp;

namespace SharpTitan.Native;

/// <summary>
/// Loads CUDA libtorch (libtorch_cuda.so) and SharpTitan's CUDA helper, and says in one line what was looked for and
/// why it failed. TorchSharp finds natives next to its assembly, then on the OS search path (LD_LIBRARY_PATH): a
/// build with TorchSharp's CUDA libtorch package carries them beside the binaries; a PyTorch install's libtorch is
/// reached with LD_LIBRARY_PATH=…/site-packages/torch/lib plus the folder of a LibTorchSharp built against it
/// (build/libtorchsharp.sh).
/// </summary>
internal static class CudaLoader
{
    private static readonly object Gate = new();
    private static bool? _available;
    private static string _why = "";

    /// <summary>True when CUDA libtorch and the helper loaded and libtorch sees a GPU; else <paramref name="why"/> says why not.</summary>
    public static bool TryLoad(out string why)
    {
        lock (Gate)
        {
            _available ??= Load(out _why);
            why = _why;
            return _available.Value;
        }
    }

    private static bool Load(out string why)
    {
        var torchSharpDir = Path.GetDirectoryName(typeof(torch).Assembly.Location) ?? AppContext.BaseDirectory;
        string searched = $"next to TorchSharp.dll ({torchSharpDir}) and on LD_LIBRARY_PATH ({Environment.GetEnvironmentVariable("LD_LIBRARY_PATH") ?? "unset"})";
        if (!TryLoadLibrary("libtorch_cuda.so", torchSharpDir, out string error))
        {
            why = $"libtorch_cuda.so was looked for {searched}: {error} (this build carries the CPU libtorch; README \"GPU\" says how to get CUDA's)";
            return false;
        }
        bool cuda;
        try { cuda = torch.TryInitializeDeviceType(DeviceType.CUDA); }
        catch (Exception e) when (e is NotSupportedException or InvalidOperationException or DllNotFoundException or EntryPointNotFoundException)
        {
            why = $"libtorch_cuda.so loaded but TorchSharp's CUDA start failed: {e.Message.Split('\n')[0]}";
            return false;
        }
        if (!cuda)
        {
            why = "libtorch_cuda.so loaded but libtorch sees no usable GPU (driver, CUDA_VISIBLE_DEVICES, or a libtorch built for another CUDA)";
            return false;
        }
        if (!TryLoadLibrary(CudaNative.FileName, AppContext.BaseDirectory, out error))
        {
            why = $"{CudaNative.FileName} (SharpTitan's CUDA helper: memory figures, streams) was looked for {searched}: {error}; build it with build/libtorchsharp.sh";
            return false;
        }
        why = "";
        return true;
    }

    /// <summary>Loads <paramref name="file"/> from <paramref name="dir"/>, else by name through the OS search path.</summary>
    private static bool TryLoadLibrary(string file, string dir, out string error)
    {
        error = "";
        var beside = Path.Combine(dir, file);
        try
        {
            NativeLibrary.Load(File.Exists(beside) ? beside : file);
            return true;
        }
        catch (DllNotFoundException e)
        {
            // .NET's text starts with advice; the loader's own reason (dlerror) is its last line.
            error = e.Message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Last();
            return false;
        }
    }
}
