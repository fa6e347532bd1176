using System.Diagnostics;
using System.Text.Json;
using SharpTitan.Models.Llama3;
using SharpTitan.Training;

namespace SharpTitan.Benchmarks;

/// <summary>
/// Checkpoint save/load throughput of a ~100M-parameter model (full state: parameters + AdamW moments) against
/// the disk's sequential write speed measured in the same run, and the async save's stall against the
/// synchronous save time. Single process.
/// </summary>
public static class CheckpointBench
{
    public static void Run(string results)
    {
        var root = Path.Combine(Path.GetTempPath(), "sharptitan-ckpt-bench");
        if (Directory.Exists(root)) Directory.Delete(root, true);
        Directory.CreateDirectory(root);
        var args = ModelFlavors.Llama3["debugmodel"] with { Dim = 768, NLayers = 12, NHeads = 12 };

        double diskWrite = DiskWriteMBps(Path.Combine(root, "disk.bin"), 1L << 30);
        Console.WriteLine($"disk sequential write (1 GiB, fsync): {diskWrite:F0} MB/s");

        string[] Overrides(string dump, string mode) =>
        [
            "--training.steps", "4", "--training.seq_len", "64", "--training.local_batch_size", "1", "--training.num_threads", "2",
            "--checkpoint.enable", "--checkpoint.interval", "1", "--checkpoint.keep_latest_k", "2",
            "--checkpoint.last_save_model_only", "false", "--checkpoint.async_mode", mode, "--job.dump_folder", dump,
        ];
        var syncDump = Path.Combine(root, "sync");
        var asyncDump = Path.Combine(root, "async");
        List<double> syncSaves, asyncStalls, asyncWaits;
        long parameters, bytes;
        using (var t = new Trainer(BenchConfig.Create(Overrides(syncDump, "disabled")), TextWriter.Null, args))
        {
            parameters = t.ModelArgs.ParameterCount();
            t.Run();
            syncSaves = t.Checkpointer!.Stalls;
        }
        bytes = Directory.GetFiles(Path.Combine(syncDump, "checkpoint", "step-4")).Sum(f => new FileInfo(f).Length);
        double load;
        using (var t = new Trainer(BenchConfig.Create(Overrides(syncDump, "disabled")), TextWriter.Null, args)) load = t.Checkpointer!.LoadSeconds;
        using (var t = new Trainer(BenchConfig.Create(Overrides(asyncDump, "async")), TextWriter.Null, args))
        {
            t.Run();
            asyncStalls = t.Checkpointer!.Stalls;
            asyncWaits = t.Checkpointer!.Waits;
        }
        double mb = bytes / 1e6;
        // Saves come every step (faster than the disk): a stall = waiting for the previous write + copying off.
        var copyOff = asyncStalls.Zip(asyncWaits, (s, w) => s - w).ToList();
        double save = BenchConfig.Median(syncSaves.Skip(1)), stall = BenchConfig.Median(copyOff.Skip(1));
        var report = new
        {
            machine = BenchConfig.Machine(),
            parameters,
            checkpoint_mb = mb,
            disk_write_mb_per_s = diskWrite,
            sync_save_seconds = syncSaves,
            sync_save_mb_per_s = mb / save,
            load_seconds = load,
            load_mb_per_s = mb / load,
            async_stall_seconds = asyncStalls,
            async_wait_for_previous_seconds = asyncWaits,
            async_copy_off_seconds = copyOff,
            async_copy_off_median_seconds = stall,
            sync_save_median_seconds = save,
        };
        var json = JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true });
        File.WriteAllText(Path.Combine(results, "checkpoint.json"), json);
        Console.WriteLine(json);
        Directory.Delete(root, true);
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
