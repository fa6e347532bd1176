namespace SharpTitan.Tests.Data;

/// <summary>Paths of the read-only shared data beside the repository (../shared from the repository root).</summary>
public static class SharedData
{
    public static string RepoRoot { get; } = FindRoot();

    public static string Path(string relative)
    {
        string full = System.IO.Path.GetFullPath(System.IO.Path.Combine(RepoRoot, "..", "shared", relative));
        if (!File.Exists(full) && !Directory.Exists(full))
            throw new FileNotFoundException($"shared test data missing: {full} (expected ../shared/{relative} beside the repository)");
        return full;
    }

    public static string TestTiktoken => Path("tokenizers/test_tiktoken.model");
    public static string C4Sample => Path("datasets/c4_sample/c4_sample.jsonl");
    public static string C4SampleGz => Path("datasets/c4_sample/c4_sample.json.gz");
    public static string C4Validation => Path("datasets/c4_validation/c4_validation.jsonl");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "SharpTitan.slnx"))) return dir.FullName;
        throw new DirectoryNotFoundException($"no SharpTitan.slnx above {AppContext.BaseDirectory}");
    }
}

/// <summary>A fresh temporary folder, deleted on dispose.</summary>
public sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("sharptitan-test-").FullName;
    public string File(string name) => System.IO.Path.Combine(Path, name);
    public void Dispose() { try { Directory.Delete(Path, recursive: true); } catch (IOException) { } }
}
