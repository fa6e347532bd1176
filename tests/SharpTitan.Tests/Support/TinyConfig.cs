using SharpTitan.Config;

namespace SharpTitan.Tests.Support;

/// <summary>A job config for the tiny flavor with one thread, quiet metrics, and everything unbuilt switched off.</summary>
public static class TinyConfig
{
    public static JobConfig Create(int steps = 5, int seqLen = 32, int localBatch = 4, params string[] overrides)
    {
        var args = new List<string>
        {
            "--model.flavor", "tiny",
            "--model.tokenizer_path", Path.Combine(TestSetup.RepoRoot, "assets", "tokenizer", "byte_tokenizer.json"),
            "--training.dataset", "sample",
            "--training.steps", steps.ToString(),
            "--training.seq_len", seqLen.ToString(),
            "--training.local_batch_size", localBatch.ToString(),
            "--training.num_threads", "1",
            "--debug.seed", "1234",
            "--activation_checkpoint.mode", "none",
            "--training.mixed_precision_param", "float32",
            "--metrics.log_freq", "1000",
            "--metrics.peak_tflops", "1",
            "--metrics.disable_color_printing",
            "--lr_scheduler.warmup_steps", "2",
        };
        args.AddRange(overrides);
        return ConfigLoader.Load(null, args);
    }
}
