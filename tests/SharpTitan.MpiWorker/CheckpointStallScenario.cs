using System.Globalization;
using SharpTitan.Checkpoint;
using SharpTitan.Config;
using SharpTitan.Distributed;
using SharpTitan.Training;

namespace SharpTitan.MpiWorker;

/// <summary>
/// `checkpoint-stall rank=R timeout=S async=0|1 dump=DIR tokenizer=FILE`: trains the tiny model with a checkpoint
/// every 2 steps and comm.train_timeout_seconds = S, while rank R stalls (sleeps 120 s) as it starts writing its
/// shard of the first save. The job must end within the timeout, rank 0 naming rank R.
/// </summary>
public static class CheckpointStallScenario
{
    public static int Run(IProcessGroup world, IReadOnlyDictionary<string, string> o)
    {
        int stalling = int.Parse(o.GetValueOrDefault("rank", "1"), CultureInfo.InvariantCulture);
        string timeout = o.GetValueOrDefault("timeout", "3");
        bool background = o.GetValueOrDefault("async", "0") == "1";
        var config = ConfigLoader.Load(null,
        [
            "--model.flavor", "tiny", "--model.tokenizer_path", o["tokenizer"], "--training.dataset", "sample",
            "--training.steps", "6", "--training.seq_len", "32", "--training.local_batch_size", "2", "--training.num_threads", "1",
            "--training.mixed_precision_param", "float32", "--activation_checkpoint.mode", "none", "--debug.seed", "1234",
            "--metrics.log_freq", "1", "--metrics.peak_tflops", "1", "--metrics.disable_color_printing",
            "--checkpoint.enable", "--checkpoint.interval", "2", "--checkpoint.async_mode", background ? "async" : "disabled",
            "--comm.train_timeout_seconds", timeout, "--job.dump_folder", o["dump"],
        ]);
        CheckpointWriter.BeforeWriteRank.Value = (rank, shard) =>
        {
            if (rank != stalling) return;
            Console.Error.WriteLine($"rank {rank}: stalling while writing {shard}");
            Thread.Sleep(TimeSpan.FromSeconds(120));
        };
        using var trainer = new Trainer(config, world.Rank == 0 ? Console.Out : TextWriter.Null, world: world);
        trainer.Run();
        return 0;
    }
}
