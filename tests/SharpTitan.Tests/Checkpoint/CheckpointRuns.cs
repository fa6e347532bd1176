using SharpTitan.Tests.Support;

namespace SharpTitan.Tests.Checkpoint;

/// <summary>
/// Runs the real CLI (under mpirun for several ranks) on the tiny model with a global batch of 12 rows, saving a
/// full checkpoint every 5 steps (keep all), and reads back losses and final parameters.
/// </summary>
public static class CheckpointRuns
{
    public const int GlobalBatch = 12;

    /// <summary>Trains to <paramref name="steps"/> in a new dump folder; <paramref name="resumeFrom"/> (a step folder) is copied in first.</summary>
    public static string Train(int ranks, int steps, string? resumeFrom = null, params string[] overrides) =>
        Train(ranks, 1, steps, resumeFrom, overrides);

    /// <summary>As above with tensor parallel degree <paramref name="tp"/> (the other ranks' factor is data parallel).</summary>
    public static string Train(int ranks, int tp, int steps, string? resumeFrom, params string[] overrides)
    {
        var dir = TestSetup.TempDir($"ckpt-{ranks}-tp{tp}");
        if (resumeFrom != null) CopyDirectory(resumeFrom, Path.Combine(dir, "checkpoint", Path.GetFileName(resumeFrom)));
        return (Run(ranks, tp, steps, overrides) with { DumpFolder = dir }).Train();
    }

    /// <summary>The run <see cref="Train(int, int, int, string?, string[])"/> makes, for tests that expect it to fail.</summary>
    public static TinyRun Run(int ranks, int tp, int steps, params string[] overrides) => new()
    {
        Ranks = ranks, Tp = tp, Steps = steps, GlobalBatch = GlobalBatch,
        Overrides = ["--checkpoint.enable", "--checkpoint.interval", "5", "--checkpoint.keep_latest_k", "0",
            "--checkpoint.last_save_model_only", "false", .. overrides],
    };

    public static string Step(string dumpFolder, int step) => Path.Combine(dumpFolder, "checkpoint", $"step-{step}");

    public static double[] Losses(string dumpFolder) => TinyRun.Losses(dumpFolder);

    public static Dictionary<string, float[]> Parameters(string dumpFolder) => TinyRun.Parameters(dumpFolder);

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
    }
}
