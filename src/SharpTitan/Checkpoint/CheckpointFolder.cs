using System.Text.RegularExpressions;

namespace SharpTitan.Checkpoint;

/// <summary>
/// The checkpoint folder: complete checkpoints are step-N/ folders holding metadata.json; a save in progress is
/// step-N.tmp-save/ (renamed when complete), which listing never returns.
/// </summary>
public static partial class CheckpointFolder
{
    [GeneratedRegex(@"^step-(\d+)$")] private static partial Regex StepName();
    [GeneratedRegex(@"^step-(\d+)\.tmp-[a-z]+$")] private static partial Regex TempName();

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

    /// <summary>
    /// Deletes the oldest complete checkpoints beyond the newest keep (0 keeps all), but never the newest
    /// full-state one: model-only saves (last_save_model_only) do not push out the state a run resumes from.
    /// </summary>
    public static void Prune(string root, int keep)
    {
        if (keep <= 0) return;
        var steps = CompleteSteps(root);
        var drop = steps.Take(Math.Max(0, steps.Count - keep)).ToList();
        if (drop.Count == 0) return;
        int? newestFull = NewestFullState(root, steps);
        foreach (var s in drop.Where(s => s != newestFull))
            Directory.Delete(StepPath(root, s), recursive: true);
    }

    /// <summary>Whether step-N holds a readable full-state checkpoint (model, optimizer and training state).</summary>
    public static bool IsFullState(string root, int step)
    {
        var path = Path.Combine(StepPath(root, step), CheckpointMetadata.FileName);
        if (!File.Exists(path)) return false;
        try { return !CheckpointMetadata.Read(path).ModelOnly; }
        catch (Exception e) when (e is InvalidDataException or IOException) { return false; }
    }

    /// <summary>The newest of <paramref name="steps"/> (ascending) that is a full-state checkpoint, if any.</summary>
    public static int? NewestFullState(string root, IReadOnlyList<int> steps)
    {
        for (int i = steps.Count - 1; i >= 0; i--)
            if (steps[i] != 0 && IsFullState(root, steps[i])) return steps[i];
        return null;
    }

    /// <summary>
    /// Why each step folder newer than <paramref name="step"/> is not a checkpoint to load: no metadata.json (an
    /// incomplete or damaged save), an unfinished save (step-N.tmp-*), or a Hugging Face export. One line each.
    /// </summary>
    public static List<string> SkippedNewer(string root, int step)
    {
        var notes = new List<(int Step, string Note)>();
        if (!Directory.Exists(root)) return [];
        foreach (var dir in Directory.GetDirectories(root))
        {
            var name = Path.GetFileName(dir);
            if (StepName().Match(name) is { Success: true } m && int.Parse(m.Groups[1].Value) is var n && n > step
                && !File.Exists(Path.Combine(dir, CheckpointMetadata.FileName)))
                notes.Add((n, File.Exists(Path.Combine(dir, "config.json"))
                    ? $"{name} is a Hugging Face export (last_save_in_hf), which resuming does not read"
                    : $"{name} has no {CheckpointMetadata.FileName} (an incomplete or damaged save): skipped"));
            else if (TempName().Match(name) is { Success: true } t && int.Parse(t.Groups[1].Value) is var k && k > step)
                notes.Add((k, $"{name} is an unfinished save (the run that wrote it stopped or failed): skipped"));
        }
        return notes.OrderByDescending(x => x.Step).Select(x => x.Note).ToList();
    }

    /// <summary>Deletes unfinished saves (step-N.tmp-*) left by a run that was killed; returns their names.</summary>
    public static List<string> RemoveUnfinished(string root)
    {
        var removed = new List<string>();
        if (!Directory.Exists(root)) return removed;
        foreach (var dir in Directory.GetDirectories(root).Where(d => TempName().IsMatch(Path.GetFileName(d))))
        {
            Directory.Delete(dir, recursive: true);
            removed.Add(Path.GetFileName(dir));
        }
        return removed;
    }
}
