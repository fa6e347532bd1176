using TorchSharp;

namespace SharpTitan.Native;

/// <summary>Loads libtorch once, with a clear error when it cannot, and sets the thread count.</summary>
public static class TorchRuntime
{
    private static readonly object Gate = new();
    private static bool _loaded;

    public static void EnsureLoaded()
    {
        lock (Gate)
        {
            if (_loaded) return;
            try
            {
                torch.InitializeDeviceType(ComputeDevice.LoadedType);
            }
            catch (Exception e)
            {
                // On a failed load TorchSharp copies ~500 MB of natives into a "cpu" folder beside the binaries.
                var leftover = Path.Combine(AppContext.BaseDirectory, "cpu");
                try { if (Directory.Exists(leftover)) Directory.Delete(leftover, recursive: true); } catch (IOException) { }
                throw new InvalidOperationException(
                    "libtorch could not be loaded (was the project built with `dotnet build`, which makes " +
                    "libLibTorchSharp.so load on older libstdc++?): " + (e.InnerException ?? e).Message, e);
            }
            _loaded = true;
        }
    }

    /// <summary>Sets libtorch's intra-op threads (0 leaves the default).</summary>
    public static void SetThreads(int threads)
    {
        EnsureLoaded();
        if (threads > 0) torch.set_num_threads(threads);
    }
}
