using System.Text.RegularExpressions;

namespace SharpTitan.Checkpoint;

/// <summary>
/// The checkpoint folder: complete checkpoints are step-N/ folders holding metadata.json; a save in progress is
/// step-N.tmp-save/ (renamed when complete), which listing never returns.
/// </summary>
public static partial class CheckpointFolder
{
    [GeneratedRegex(@"^step-(\d+)$")] private static partial Regex StepName();

    public static string StepPath(string root, int step) => Path.Combine(root, $"step-{step}");
    public static string TempPath(string root, int step) => Path.Combine(root, $"step-{step}.tmp-save");

    /// <summary>Steps with a complete checkpoint, ascending.</summary>
    public static List<int> CompleteSteps(string root)
    {
        if (!Directory.Exists(root)) return [];
        return Directory.GetDirectories(root)
            .Select(d => StepName().Match(Path.GetFileName(d)))
            .Where(m => m.Success && File.Exists(Path.Combine(root, m.Value, CheckpointMetadata.FileName)))
            .Select(m => int.Parse(m.Groups[1].Value)).Order().ToList();
    }

    /// <summary>The step folder to load: the latest when step is -1, else that step; throws naming what is missing.</summary>
    public static string Resolve(string root, int step)
    {
        if (!Directory.Exists(root)) throw new DirectoryNotFoundException($"checkpoint folder {root} does not exist");
        var steps = CompleteSteps(root);
        if (step == -1)
            return steps.Count > 0 ? StepPath(root, steps[^1]) : throw new FileNotFoundException($"no complete checkpoint (step-N/{CheckpointMetadata.FileName}) in {root}");
        if (!steps.Contains(step))
            throw new FileNotFoundException($"checkpoint step {step} not found in {root} (complete steps: {(steps.Count == 0 ? "none" : string.Join(", ", steps))})");
        return StepPath(root, step);
    }

    /// <summary>A folder given by the user: a step folder itself, or a checkpoint folder (its latest step).</summary>
    public static string ResolveUserPath(string path)
    {
        if (File.Exists(Path.Combine(path, CheckpointMetadata.FileName))) return path;
        if (!Directory.Exists(path)) throw new DirectoryNotFoundException($"checkpoint {path} does not exist");
        return Resolve(path, -1);
    }

    /// <summary>Deletes the oldest complete checkpoints beyond the newest keep (0 keeps all).</summary>
    public static void Prune(string root, int keep)
    {
        if (keep <= 0) return;
        var steps = CompleteSteps(root);
        foreach (var s in steps.Take(Math.Max(0, steps.Count - keep)))
            Directory.Delete(StepPath(root, s), recursive: true);
    }
}
