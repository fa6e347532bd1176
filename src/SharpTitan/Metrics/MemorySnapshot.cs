using System.Text.Json;
using TorchSharp;

namespace SharpTitan.Metrics;

/// <summary>
/// A point-in-time memory record: process RSS and peak RSS, live TorchSharp tensor handles on this thread, and the
/// bytes of the training state the trainer knows (parameters, gradients, optimizer state). Appended as one JSON
/// line to {dump_folder}/{save_memory_snapshot_folder}/rank{r}_memory.jsonl.
/// </summary>
internal static class MemorySnapshot
{
    public static void Append(string folder, int rank, int step, long stateBytes)
    {
        Directory.CreateDirectory(folder);
        var stats = DisposeScopeManager.Statistics;
        var line = JsonSerializer.Serialize(new
        {
            step,
            rss_bytes = ProcessMemory.RssBytes(),
            peak_rss_bytes = ProcessMemory.PeakRssBytes(),
            live_tensors = stats.ThreadTotalLiveCount,
            training_state_bytes = stateBytes,
            managed_bytes = GC.GetTotalMemory(false),
            time = DateTime.UtcNow.ToString("o"),
        });
        File.AppendAllText(Path.Combine(folder, $"rank{rank}_memory.jsonl"), line + "\n");
    }
}
