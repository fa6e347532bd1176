using System.Text.RegularExpressions;
using SharpTitan.Tests.Support;

namespace SharpTitan.Tests;

/// <summary>
/// The structure DESIGN.md asks for, checked on the library's source: folders depend on each other without cycles,
/// the trainer knows no concrete transform, and only one file names a device type.
/// </summary>
public partial class ArchitectureTests
{
    private static readonly string Library = Path.Combine(TestSetup.RepoRoot, "src", "SharpTitan");

    private static IEnumerable<string> Sources(string folder) =>
        Directory.EnumerateFiles(folder, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") &&
                        !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"));

    [GeneratedRegex(@"\bSharpTitan\.([A-Z][A-Za-z0-9]*)\b")]
    private static partial Regex NamespaceUse();

    /// <summary>Top-level folder -> the other top-level folders its files name (usings and qualified names).</summary>
    private static Dictionary<string, HashSet<string>> FolderDependencies()
    {
        var folders = Directory.GetDirectories(Library).Select(Path.GetFileName).Where(f => f is not ("bin" or "obj")).ToHashSet()!;
        var graph = folders.ToDictionary(f => f!, _ => new HashSet<string>());
        foreach (var folder in folders)
            foreach (var file in Sources(Path.Combine(Library, folder!)))
                foreach (Match m in NamespaceUse().Matches(File.ReadAllText(file)))
                    if (m.Groups[1].Value != folder && folders.Contains(m.Groups[1].Value)) graph[folder!].Add(m.Groups[1].Value);
        return graph;
    }

    [Fact]
    public void FoldersHaveNoDependencyCycles()
    {
        var graph = FolderDependencies();
        Assert.Contains("Parallel", graph["Training"]); // the scan sees real dependencies
        var state = new Dictionary<string, int>(); // 1 visiting, 2 done
        List<string>? cycle = null;
        bool Visit(string node, List<string> path)
        {
            if (state.GetValueOrDefault(node) == 2) return false;
            if (state.GetValueOrDefault(node) == 1) { cycle = [.. path.SkipWhile(n => n != node), node]; return true; }
            state[node] = 1;
            path.Add(node);
            foreach (var next in graph[node].Order()) if (Visit(next, path)) return true;
            path.RemoveAt(path.Count - 1);
            state[node] = 2;
            return false;
        }
        foreach (var node in graph.Keys.Order()) if (Visit(node, [])) break;
        Assert.True(cycle == null, $"folder dependency cycle: {string.Join(" -> ", cycle ?? [])}");
    }

    [Fact]
    public void TrainerNamesNoConcreteTransform()
    {
        var trainer = File.ReadAllText(Path.Combine(Library, "Training", "Trainer.cs"));
        string[] transforms = ["FsdpModel", "TensorParallel", "AsyncTensorParallel", "Float8Converter", "ActivationCheckpointing",
            "CheckpointedBlocks", "MixedPrecision", "IMixedPrecision", "LossParallel", "TpComm"];
        var named = transforms.Where(t => Regex.IsMatch(trainer, $@"\b{t}\b")).ToList();
        Assert.True(named.Count == 0, $"Trainer.cs names {string.Join(", ", named)}: it should talk to IModelParts only");
        Assert.Contains("IModelParts", trainer);
    }

    [Fact]
    public void OnlyTheNativeSeamNamesDeviceTypes()
    {
        // ComputeDevice chooses the device; the other Native/ files bind libtorch per device type (autocast, CUDA).
        var naming = Sources(Library).Where(f => File.ReadAllText(f).Contains("DeviceType."))
            .Select(f => Path.GetRelativePath(Library, f)).Where(f => !f.StartsWith("Native" + Path.DirectorySeparatorChar, StringComparison.Ordinal)).ToList();
        Assert.Empty(naming);
        Assert.Contains(Sources(Library), f => f.EndsWith(Path.Combine("Native", "ComputeDevice.cs"), StringComparison.Ordinal));
    }

    [Fact]
    public void CustomAutogradFunctionsAreLean()
    {
        // TorchSharp's own Function bases and apply keep an output-sized tensor on every node (see LeanFunction).
        var lean = Path.Combine("Native", "LeanFunction.cs");
        var sources = Sources(Library).Where(f => !f.EndsWith(lean, StringComparison.Ordinal)).ToList();
        var offenders = sources.Where(f => Regex.IsMatch(File.ReadAllText(f), @"SingleTensorFunction<|MultiTensorFunction<|autograd\.Function<|\bapply(_internal)?\("))
            .Select(f => Path.GetRelativePath(Library, f)).ToList();
        Assert.Empty(offenders);
        Assert.Contains(sources, f => File.ReadAllText(f).Contains(" : LeanFunction<", StringComparison.Ordinal));
    }
}
