using System.Diagnostics;
using System.Text.Json;
using SharpTitan.Distributed;
using SharpTitan.Models.Llama3;
using SharpTitan.Native;
using SharpTitan.Training;
using static TorchSharp.torch;

namespace SharpTitan.Benchmarks;

/// <summary>
/// Checkpoint save/load throughput of a ~100M-parameter model (full state: parameters + AdamW moments) for one
/// process (2 threads) and FSDP 2 (2 ranks x 1 thread, each writing its shard file), against the disk's sequential
/// write speed measured in the same run, and the async save's stall against the synchronous save time.
/// </summary>
public static class CheckpointBench
{
    public sealed record Case(string Label, int Ranks, int Threads, string Root, string Output);
    public sealed record Result(Case Case, long Parameters, double CheckpointMB, List<double> SyncSaveSeconds, double LoadSeconds,
        List<double> AsyncStallSeconds, List<double> AsyncWaitSeconds);

    private static readonly ModelArgs Model = ModelFlavors.Llama3["debugmodel"] with { Dim = 768, NLayers = 12, NHeads = 12 };

    public static void Run(string results)
    {
        var root = Path.Combine(Path.GetTempPath(), "sharptitan-ckpt-bench");
        if (Directory.Exists(root)) Directory.Delete(root, true);
        Directory.CreateDirectory(root);
        double diskWrite = DiskWriteMBps(Path.Combine(root, "disk.bin"), 1L << 30);
        Console.WriteLine($"disk sequential write (1 GiB, fsync): {diskWrite:F0} MB/s");
        var rows = new List<object>();
        foreach (var (label, ranks, threads) in new[] { ("1 process x 2 threads", 1, 2), ("FSDP 2 x 1 thread", 2, 1) })
        {
            var c = new Case(label, ranks, threads, Path.Combine(root, $"r{ranks}"), Path.Combine(root, $"r{ranks}.json"));
            var r = CaseProcess.Run<Result>("checkpoint-case", ranks, label, c, c.Output, keepOutput: true);
            // Saves come every step (faster than the disk): a stall = waiting for the previous write + copying off.
            var copyOff = r.AsyncStallSeconds.Zip(r.AsyncWaitSeconds, (s, w) => s - w).ToList();
            double save = BenchConfig.Median(r.SyncSaveSeconds.Skip(1)), stall = BenchConfig.Median(copyOff.Skip(1));
            var row = new
            {
                r.Case.Label, r.Parameters, checkpoint_mb = r.CheckpointMB,
                sync_save_seconds = r.SyncSaveSeconds, sync_save_median_seconds = save, sync_save_mb_per_s = r.CheckpointMB / save,
                load_seconds = r.LoadSeconds, load_mb_per_s = r.CheckpointMB / r.LoadSeconds,
                async_stall_seconds = r.AsyncStallSeconds, async_wait_for_previous_seconds = r.AsyncWaitSeconds,
                async_copy_off_seconds = copyOff, async_copy_off_median_seconds = stall,
            };
            rows.Add(row);
            Console.WriteLine($"{label}: {r.CheckpointMB:F0} MB; save {save:F2} s ({r.CheckpointMB / save:F0} MB/s), load {r.LoadSeconds:F2} s " +
                              $"({r.CheckpointMB / r.LoadSeconds:F0} MB/s), async stall {stall:F2} s");
        }
        var report = new { date = DateTime.UtcNow.ToString("u"), machine = BenchConfig.Machine(), disk_write_mb_per_s = diskWrite, cases = rows };
        var text = JsonSerializer.Serialize(report, BenchConfig.IndentedJson);
        File.WriteAllText(Path.Combine(results, "checkpoint.json"), text);
        Directory.Delete(root, true);
    }

    /// <summary>One case on this rank (under mpirun for FSDP): 4 steps saving every step (sync), a load, 4 steps async.</summary>
    public static void RunCase(Case c)
    {
        var world = DistributedRuntime.Initialize();
        TorchRuntime.SetThreads(c.Threads);
        string[] Overrides(string dump, string mode) =>
        [
            "--training.steps", "4", "--training.seq_len", "64", "--training.local_batch_size", "1",
            "--training.num_threads", c.Threads.ToString(), "--training.mixed_precision_param", "float32",
            "--checkpoint.enable", "--checkpoint.interval", "1", "--checkpoint.keep_latest_k", "2",
            "--checkpoint.last_save_model_only", "false", "--checkpoint.async_mode", mode, "--job.dump_folder", dump,
        ];
        string syncDump = Path.Combine(c.Root, "sync"), asyncDump = Path.Combine(c.Root, "async");
        List<double> syncSaves, asyncStalls, asyncWaits;
        long parameters;
        using (var t = new Trainer(BenchConfig.Create(Overrides(syncDump, "disabled")), TextWriter.Null, Model, world))
        {
            parameters = t.ModelArgs.ParameterCount();
            t.Run();
            syncSaves = t.Checkpointer!.Stalls;
        }
        double mb = Directory.GetFiles(Path.Combine(syncDump, "checkpoint", "step-4")).Sum(f => new FileInfo(f).Length) / 1e6;
        double load;
        using (var t = new Trainer(BenchConfig.Create(Overrides(syncDump, "disabled")), TextWriter.Null, Model, world)) load = t.Checkpointer!.LoadSeconds;
        using (var t = tensor(new[] { load }, ScalarType.Float64)) { world.AllReduce(t, ReduceOp.Max); load = t.item<double>(); } // the slowest rank
        using (var t = new Trainer(BenchConfig.Create(Overrides(asyncDump, "async")), TextWriter.Null, Model, world))
        {
            t.Run();
            asyncStalls = t.Checkpointer!.Stalls;
            asyncWaits = t.Checkpointer!.Waits;
        }
        if (world.Rank == 0)
            File.WriteAllText(c.Output, JsonSerializer.Serialize(new Result(c, parameters, mb, syncSaves, load, asyncStalls, asyncWaits)));
        DistributedRuntime.Shutdown();
    }

    /// <summary>Writes size bytes in 16 MiB blocks, fsyncs, and returns MB/s (10^6 bytes).</summary>
    private static double DiskWriteMBps(string path, long size)
    {
        var block = new byte[16 << 20];
        Random.Shared.NextBytes(block);
        var sw = Stopwatch.StartNew();
        using (var fs = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1))
        {
            for (long done = 0; done < size; done += block.Length) fs.Write(block);
            fs.Flush(flushToDisk: true);
        }
        double seconds = sw.Elapsed.TotalSeconds;
        File.Delete(path);
        return size / 1e6 / seconds;
    }
}
