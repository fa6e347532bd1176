using System.Diagnostics;
using SharpTitan.Distributed;
using SharpTitan.IO;
using SharpTitan.Metrics;
using static TorchSharp.torch;

namespace SharpTitan.Checkpoint;

/// <summary>What a save records besides tensors: the step, the job config and the tokenizer files it carries.</summary>
internal sealed record SaveInfo(int Step, bool ModelOnly, long OptimizerStep, string? DataLoader, string ConfigToml,
    IReadOnlyList<CarriedFile>? Tokenizer = null);

/// <summary>
/// Writes one checkpoint step. Every rank writes shard-R.bin (its pieces) and then shard-R.json (their chunks and
/// the file's SHA-256) into step-N.tmp-save/; rank 0 waits for every manifest, merges them into metadata.json,
/// and renames the folder to step-N/. A save that dies midway leaves only the temporary folder, which loading
/// never picks. <see cref="Begin"/> and <see cref="Save"/> hold the collectives (main thread);
/// <see cref="WriteRank"/> and <see cref="Complete"/> touch files only, so they may run on a background thread.
/// Rank 0's wait for the other ranks is bounded like a barrier: under MPI the watchdog ends the job when it lasts
/// longer than its current timeout (comm.train_timeout_seconds while training), naming the ranks whose shard is
/// missing; without a watchdog <paramref name="timeout"/> bounds it.
/// </summary>
internal sealed class CheckpointWriter(string root, IProcessGroup world, int keepLatestK, TimeSpan? timeout = null)
{
    public const string ConfigFile = "config.toml";
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(100);

    /// <summary>
    /// Test seam (fault injection): runs on each rank as its shard write starts, with the rank and the shard's path;
    /// it flows into background saves. Null outside tests.
    /// </summary>
    internal static readonly AsyncLocal<Action<int, string>?> BeforeWriteRank = new();

    public string Root => root;

    /// <summary>Collective: rank 0 makes a fresh temporary folder for the step; everyone waits for it.</summary>
    public string Begin(int step)
    {
        var temp = CheckpointFolder.TempPath(root, step);
        if (world.Rank == 0)
        {
            try
            {
                if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
                Directory.CreateDirectory(temp);
            }
            catch (Exception e) when (StorageException.IsFileSystemError(e))
            {
                throw StorageException.For($"checkpoint step {step}: cannot create", temp, e);
            }
        }
        world.Barrier();
        return temp;
    }

    /// <summary>Writes this rank's shard file and manifest (the data: contiguous CPU tensors, one per piece).</summary>
    public void WriteRank(string temp, IReadOnlyList<(StatePiece Piece, Tensor Data)> data, ProgressBar? progress = null)
    {
        int rank = world.Rank;
        var shard = Path.Combine(temp, $"shard-{rank}.bin");
        BeforeWriteRank.Value?.Invoke(rank, shard);
        var (file, chunks) = ShardFile.Write(shard, data, progress);
        var manifest = System.Text.Json.JsonSerializer.Serialize(new RankManifest(rank, file, chunks), CheckpointMetadata.Json);
        var path = Path.Combine(temp, $"shard-{rank}.json");
        ShardFile.WriteText(path + ".part", manifest);
        File.Move(path + ".part", path); // a manifest appears whole or not at all
    }

    /// <summary>The ranks whose manifest is not in <paramref name="temp"/> yet, for the watchdog's message.</summary>
    private string Missing(string temp, int step)
    {
        var missing = Enumerable.Range(0, world.Size).Where(r => !File.Exists(Path.Combine(temp, $"shard-{r}.json"))).ToList();
        return missing.Count == 0
            ? $"checkpoint step {step}: rank 0 did not finish committing {temp}"
            : $"checkpoint step {step}: {(missing.Count == 1 ? "rank" : "ranks")} {string.Join(", ", missing)} did not finish writing {(missing.Count == 1 ? "its shard" : "their shards")} to {temp}";
    }

    /// <summary>Rank 0: waits (bounded) for every rank's manifest.</summary>
    private List<RankManifest> WaitForManifests(string temp, int step)
    {
        var manifests = new List<RankManifest>();
        long since = Stopwatch.GetTimestamp(); // as a barrier: from when this rank's own write is done
        var watchdog = DistributedRuntime.Watchdog;
        using var wait = watchdog?.TrackWait("checkpoint commit", () => Missing(temp, step), since);
        var limit = (watchdog?.CurrentTimeout ?? timeout ?? DefaultTimeout) + (watchdog != null ? TimeSpan.FromSeconds(10) : TimeSpan.Zero);
        for (int r = 0; r < world.Size; r++)
        {
            var path = Path.Combine(temp, $"shard-{r}.json");
            while (!File.Exists(path))
            {
                if (Stopwatch.GetElapsedTime(since) > limit)
                    throw new TimeoutException($"{Missing(temp, step)} within {limit.TotalSeconds:0.###} s");
                Thread.Sleep(5);
            }
            manifests.Add(RankManifest.Read(path));
        }
        return manifests;
    }

    /// <summary>Rank 0: waits for every rank's manifest, writes metadata.json, renames into place, prunes.</summary>
    public string Complete(string temp, SaveInfo info)
    {
        var manifests = WaitForManifests(temp, info.Step);
        var files = manifests.Select(m => m.File).ToList();
        files.Add(ShardFile.WriteText(Path.Combine(temp, ConfigFile), info.ConfigToml));
        var tokenizer = CheckpointTokenizer.Write(temp, info.Tokenizer ?? []);
        files.AddRange(tokenizer);
        var tensors = manifests.SelectMany(m => m.Chunks.Select(c => (m.File.Name, c)))
            .GroupBy(x => x.c.Tensor)
            .Select(g => new TensorEntry(g.Key, g.First().c.Dtype, g.First().c.Shape,
                g.Select(x => new ChunkEntry(x.Name, x.c.Start, x.c.Count, x.c.Offset, x.c.BlockOffset, x.c.BlockShape))
                    .OrderBy(c => TensorBlock.Runs(g.First().c.Shape, c.Block, c.Start, c.Count).First().Global).ToList()))
            .OrderBy(t => t.Name, StringComparer.Ordinal).ToList();
        foreach (var t in tensors) CheckpointReader.CheckCoverage(t, temp);
        var meta = new CheckpointMetadata
        {
            Step = info.Step, ModelOnly = info.ModelOnly, OptimizerStep = info.OptimizerStep, WorldSize = world.Size,
            DataLoader = info.DataLoader, Tokenizer = tokenizer.FirstOrDefault()?.Name, Files = files, Tensors = tensors,
        };
        ShardFile.WriteText(Path.Combine(temp, CheckpointMetadata.FileName), meta.ToJson());
        for (int r = 0; r < world.Size; r++) File.Delete(Path.Combine(temp, $"shard-{r}.json"));
        var final = CheckpointFolder.StepPath(root, info.Step);
        // Re-saving a step (a resumed run): the old folder is moved aside, not deleted, until the new one is in place.
        FolderSwap.Replace(temp, final, final + ".tmp-old", afterMove: () => ShardFile.SyncDirectory(root));
        CheckpointFolder.Prune(root, keepLatestK);
        return final;
    }

    /// <summary>A whole synchronous save (collective).</summary>
    public string? Save(SaveInfo info, IReadOnlyList<(StatePiece Piece, Tensor Data)> data)
    {
        var temp = Begin(info.Step);
        WriteRank(temp, data);
        world.Barrier();
        string? final = world.Rank == 0 ? Complete(temp, info) : null;
        world.Barrier();
        return final;
    }
}
