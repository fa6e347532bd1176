using SharpTitan.Config;

namespace SharpTitan.Tests.Support;

/// <summary>A job config for the tiny flavor with one thread, quiet metrics, and everything unbuilt switched off.</summary>
public static class TinyConfig
{
    public static JobConfig Create(int steps = 5, int seqLen = 32, int localBatch = 4, params string[] overrides) =>
        ConfigLoader.Load(null, [.. Arguments(steps, seqLen, localBatch), .. overrides]);

    /// <summary>The overrides <see cref="Create"/> loads (for a CLI run that must see the same job).</summary>
    public static List<string> Arguments(int steps = 5, int seqLen = 32, int localBatch = 4)
    {
        var args = TinyRun.CommonFlags("tiny", steps, seqLen);
        args.AddRange([
            "--training.local_batch_size", localBatch.ToString(),
            "--training.mixed_precision_param", "float32",
            "--metrics.log_freq", "1000",
        ]);
        return args;
    }
}
