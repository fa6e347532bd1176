using SharpTitan.Native;

// Tests share libtorch's global RNG and thread settings: run them one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace SharpTitan.Tests.Support;

/// <summary>Loads libtorch with one thread (CI has 2 cores) and finds the repository and ../shared.</summary>
public static class TestSetup
{
    private static readonly Lazy<bool> Loaded = new(() =>
    {
        TorchRuntime.SetThreads(1);
        return true;
    });

    public static void Torch() => _ = Loaded.Value;

    public static string RepoRoot { get; } = FindRepoRoot();

    public static string SharedPath(params string[] parts)
    {
        var path = Path.Combine([RepoRoot, "..", "shared", .. parts]);
        if (!File.Exists(path) && !Directory.Exists(path))
            throw new FileNotFoundException($"shared test data missing: {Path.GetFullPath(path)} (expected ../shared beside the repository)");
        return path;
    }

    public static string TempDir(string name)
    {
        var dir = Path.Combine(Path.GetTempPath(), "sharptitan-tests", name + "-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "SharpTitan.slnx"))) dir = dir.Parent;
        return dir?.FullName ?? throw new DirectoryNotFoundException("cannot find the repository root (SharpTitan.slnx) above " + AppContext.BaseDirectory);
    }
}
