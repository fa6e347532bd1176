using System.Globalization;
using SharpTitan.Tests.Distributed;
using SharpTitan.Training;

namespace SharpTitan.Tests.Checkpoint;

/// <summary>
/// Runs the real CLI (under mpirun for several ranks) on the tiny model with a global batch of 12 rows, saving a
/// full checkpoint every 5 steps (keep all), and reads back losses and final parameters.
/// </summary>
public static class CheckpointRuns
{
    public const int GlobalBatch = 12;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(240);

    /// <summary>Trains to <paramref name="steps"/> in a new dump folder; <paramref name="resumeFrom"/> (a step folder) is copied in first.</summary>
    public static string Train(int ranks, int steps, string? resumeFrom = null, params string[] overrides) =>
        Train(ranks, 1, steps, resumeFrom, overrides);

    /// <summary>As above with tensor parallel degree <paramref name="tp"/> (the other ranks' factor is data parallel).</summary>
    public static string Train(int ranks, int tp, int steps, string? resumeFrom, params string[] overrides)
    {
        var dir = Support.TestSetup.TempDir($"ckpt-{ranks}-tp{tp}");
        if (resumeFrom != null) CopyDirectory(resumeFrom, Path.Combine(dir, "checkpoint", Path.GetFileName(resumeFrom)));
        var args = new List<string>
        {
            "train", "--model.flavor", "tiny",
            "--model.tokenizer_path", Path.Combine(MpiRun.RepoRoot, "assets", "tokenizer", "byte_tokenizer.json"),
            "--training.dataset", "sample", "--training.steps", steps.ToString(), "--training.seq_len", "32",
            "--training.global_batch_size", GlobalBatch.ToString(), "--training.local_batch_size", (GlobalBatch / (ranks / tp)).ToString(),
            "--parallelism.tensor_parallel_degree", tp.ToString(),
            "--training.num_threads", "1", "--training.mixed_precision_param", "float32",
            "--debug.seed", "1234", "--activation_checkpoint.mode", "none", "--metrics.log_freq", "5",
            "--metrics.peak_tflops", "1", "--metrics.disable_color_printing", "--lr_scheduler.warmup_steps", "2",
            "--checkpoint.enable", "--checkpoint.interval", "5", "--checkpoint.keep_latest_k", "0",
            "--checkpoint.last_save_model_only", "false",
            "--job.dump_folder", dir, "--debug.dump_results_folder", Path.Combine(dir, "results"),
        };
        args.AddRange(overrides);
        var r = ranks == 1 ? MpiRun.Start(MpiRun.CliPath, args, Timeout) : MpiRun.Run(ranks, MpiRun.CliPath, args, Timeout);
        Assert.True(r.ExitCode == 0 && !r.TimedOut, r.Describe());
        return dir;
    }

    public static string Step(string dumpFolder, int step) => Path.Combine(dumpFolder, "checkpoint", $"step-{step}");

    public static double[] Losses(string dumpFolder) => ResultDump.ReadLosses(Path.Combine(dumpFolder, "results"));

    public static Dictionary<string, float[]> Parameters(string dumpFolder) =>
        ResultDump.ReadParameters(Path.Combine(dumpFolder, "results", "params.bin"));

    /// <summary>Losses agree to a relative tolerance (0 = bit for bit) and final parameters to max|diff| / max|param|.</summary>
    public static void AssertSame(double[] expected, double[] actual, Dictionary<string, float[]> p1, Dictionary<string, float[]> p2,
        double lossTolerance, double paramTolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(actual[i] - expected[i]) <= lossTolerance * Math.Abs(expected[i]),
                $"loss {i}: {actual[i]:R} vs {expected[i]:R}");
        Assert.Equal(p1.Keys.Order(), p2.Keys.Order());
        foreach (var (name, a) in p1)
        {
            var b = p2[name];
            double scale = a.Max(x => Math.Abs(x)), diff = a.Zip(b).Max(t => Math.Abs(t.First - t.Second));
            Assert.True(diff <= paramTolerance * scale, $"{name}: max |diff| {diff:E3} vs max |param| {scale:E3}");
        }
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
    }
}
