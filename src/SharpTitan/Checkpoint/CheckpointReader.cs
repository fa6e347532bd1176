using System.Security.Cryptography;
using SharpTitan.Distributed;
using SharpTitan.Native;
using static TorchSharp.torch;

namespace SharpTitan.Checkpoint;

/// <summary>
/// Loads pieces of global tensors from a checkpoint step folder, whatever layout wrote it. All of this rank's
/// data is read into staging tensors first while every file read is checked against its size and SHA-256;
/// the ranks then agree that all succeeded, and only then is anything copied into the targets, so no partial
/// load ever proceeds.
/// </summary>
public static class CheckpointReader
{
    private const int Block = 16 << 20;

    private sealed record ReadOp(long FileOffset, long Length, nint Dest);

    /// <summary>
    /// Checks the checkpoint's tensors against <paramref name="expected"/> (global name -> shape; only names
    /// starting with one of <paramref name="prefixes"/> are compared), then fills every target piece.
    /// Collective over <paramref name="world"/>. Optional pieces are filled only when the checkpoint has them.
    /// </summary>
    internal static CheckpointMetadata Load(string stepFolder, IReadOnlyDictionary<string, long[]> expected, string[] prefixes,
        IReadOnlyList<StatePiece> targets, IProcessGroup world, IReadOnlyList<StatePiece>? optional = null)
    {
        var staging = new List<(StatePiece Target, Tensor Data)>();
        CheckpointMetadata? meta = null;
        Exception? failure = null;
        try
        {
            meta = CheckpointMetadata.Read(Path.Combine(stepFolder, CheckpointMetadata.FileName));
            CheckMatch($"checkpoint {stepFolder}", meta.Tensors.ToDictionary(t => t.Name, t => t.Shape), expected, prefixes);
            var byName = meta.Tensors.ToDictionary(t => t.Name);
            var wanted = targets.Concat((optional ?? []).Where(p => byName.ContainsKey(p.Name))).ToList();
            ReadAll(stepFolder, meta, byName, wanted, staging);
        }
        catch (Exception e) when (e is InvalidDataException or FileNotFoundException or DirectoryNotFoundException or IOException)
        {
            failure = e;
        }
        using (var flag = tensor(new[] { failure == null ? 0.0 : 1.0 }, ScalarType.Float64))
        {
            world.AllReduce(flag, ReduceOp.Max);
            if (flag.item<double>() != 0 || failure != null)
            {
                foreach (var (_, d) in staging) d.Dispose();
                if (failure != null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
                throw new InvalidDataException($"checkpoint {stepFolder}: loading failed on another rank (see its log); nothing was loaded");
            }
        }
        using (no_grad())
            foreach (var (target, data) in staging)
            {
                using var slice = target.Slice();
                slice.copy_(data);
                data.Dispose();
            }
        return meta!;
    }

    /// <summary>Names what differs between the checkpoint and this model; throws if anything does.</summary>
    public static void CheckMatch(string source, IReadOnlyDictionary<string, long[]> stored, IReadOnlyDictionary<string, long[]> expected, string[] prefixes)
    {
        bool Relevant(string n) => prefixes.Any(n.StartsWith);
        var saved = stored.Where(t => Relevant(t.Key)).ToDictionary(t => t.Key, t => t.Value);
        var problems = new List<string>();
        foreach (var (name, shape) in expected.Where(e => Relevant(e.Key)).OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            if (!saved.TryGetValue(name, out var s)) problems.Add($"{name} missing from the checkpoint");
            else if (!s.SequenceEqual(shape)) problems.Add($"{name} has shape [{string.Join(", ", s)}] in the checkpoint, [{string.Join(", ", shape)}] in this model");
        }
        foreach (var name in saved.Keys.Where(n => !expected.ContainsKey(n)).Order(StringComparer.Ordinal))
            problems.Add($"{name} is in the checkpoint but not in this model");
        if (problems.Count == 0) return;
        const int Shown = 8;
        throw new InvalidDataException($"{source} does not match this model config: {problems.Count} tensor(s) differ: " +
            string.Join("; ", problems.Take(Shown)) + (problems.Count > Shown ? $"; ... and {problems.Count - Shown} more" : ""));
    }

    /// <summary>Every model tensor of a checkpoint, whole, in its stored dtype, by name without the "model." prefix.</summary>
    public static Dictionary<string, Tensor> ReadModel(string stepFolder)
    {
        var meta = CheckpointMetadata.Read(Path.Combine(stepFolder, CheckpointMetadata.FileName));
        var result = new Dictionary<string, Tensor>();
        var pieces = new List<StatePiece>();
        using (var scope = NewDisposeScope())
        {
            foreach (var t in meta.Tensors.Where(t => t.Name.StartsWith(TrainingState.Model)))
            {
                var value = empty(t.Shape, Dtypes.Parse(t.Dtype, $"{stepFolder} ({t.Name})")).DetachFromDisposeScope();
                result[t.Name[TrainingState.Model.Length..]] = value;
                pieces.Add(TrainingState.Whole(t.Name, value));
            }
            try
            {
                Load(stepFolder, meta.Tensors.ToDictionary(t => t.Name, t => t.Shape), [TrainingState.Model], pieces, new SingleProcessGroup());
            }
            catch
            {
                foreach (var v in result.Values) v.Dispose();
                throw;
            }
        }
        return result;
    }

    /// <summary>A stored run: global elements [Global, Global + Count) at byte Offset of File.</summary>
    private readonly record struct StoredRun(long Global, long Count, string File, long Offset);

    /// <summary>A tensor's chunks as runs of the global tensor, ascending; they must cover it exactly once.</summary>
    private static List<StoredRun> StoredRuns(TensorEntry t, int elementSize, string folder)
    {
        var runs = new List<StoredRun>();
        foreach (var c in t.Chunks)
        {
            if (c.Count <= 0) throw new InvalidDataException($"checkpoint {folder}: tensor {t.Name} has an empty chunk in {c.File}");
            if (c.Block is { } b && (b.Shape.Length != t.Shape.Length || b.Offset.Length != t.Shape.Length
                    || b.Offset.Zip(b.Shape, t.Shape).Any(x => x.First < 0 || x.Second < 0 || x.First + x.Second > x.Third)
                    || c.Start < 0 || c.Start + c.Count > b.Numel))
                throw new InvalidDataException($"checkpoint {folder}: tensor {t.Name} has a chunk in {c.File} outside its shape");
            foreach (var (global, local, count) in TensorBlock.Runs(t.Shape, c.Block, c.Start, c.Count))
                runs.Add(new StoredRun(global, count, c.File, c.Offset + (local - c.Start) * elementSize));
        }
        runs.Sort((a, b) => a.Global.CompareTo(b.Global));
        long next = 0;
        foreach (var r in runs)
        {
            if (r.Global != next) throw new InvalidDataException($"checkpoint {folder}: tensor {t.Name} has a gap or overlap at element {Math.Min(next, r.Global)}");
            next += r.Count;
        }
        if (next != t.Numel) throw new InvalidDataException($"checkpoint {folder}: tensor {t.Name} covers {next} of {t.Numel} elements");
        return runs;
    }

    /// <summary>A tensor's chunks must cover its elements exactly once.</summary>
    internal static void CheckCoverage(TensorEntry t, string folder) =>
        StoredRuns(t, Dtypes.Size(Dtypes.Parse(t.Dtype, $"{folder} ({t.Name})")), folder);

    private static unsafe void ReadAll(string folder, CheckpointMetadata meta, Dictionary<string, TensorEntry> byName,
        List<StatePiece> wanted, List<(StatePiece, Tensor)> staging)
    {
        var files = meta.Files.ToDictionary(f => f.Name);
        var ops = new Dictionary<string, List<ReadOp>>();
        foreach (var piece in wanted)
        {
            var t = byName[piece.Name];
            var dtype = Dtypes.Parse(t.Dtype, $"{folder}/{CheckpointMetadata.FileName} ({t.Name})");
            int size = Dtypes.Size(dtype);
            var stored = StoredRuns(t, size, folder);
            var data = empty(piece.Count, dtype).DetachFromDisposeScope();
            staging.Add((piece, data));
            nint basePtr = TensorMemory.DataPointer(data);
            foreach (var (global, local, count) in TensorBlock.Runs(piece.GlobalShape, piece.Block, piece.Start, piece.Count))
            {
                // The first stored run that ends after this run starts, then every one that overlaps it.
                int i = stored.BinarySearch(new StoredRun(global, 0, "", 0), Comparer<StoredRun>.Create((a, b) => a.Global.CompareTo(b.Global)));
                if (i < 0) i = Math.Max(0, ~i - 1);
                for (; i < stored.Count && stored[i].Global < global + count; i++)
                {
                    var c = stored[i];
                    long lo = Math.Max(global, c.Global), hi = Math.Min(global + count, c.Global + c.Count);
                    if (lo >= hi) continue;
                    if (!files.ContainsKey(c.File)) throw new InvalidDataException($"checkpoint {folder}: tensor {t.Name} refers to {c.File}, which the metadata does not list");
                    if (!ops.TryGetValue(c.File, out var list)) ops[c.File] = list = [];
                    list.Add(new ReadOp(c.Offset + (lo - c.Global) * size, (hi - lo) * size, basePtr + (nint)((local - piece.Start + lo - global) * size)));
                }
            }
        }
        foreach (var (name, list) in ops) ReadFile(Path.Combine(folder, name), files[name], list.OrderBy(o => o.FileOffset).ToList());
    }

    /// <summary>Streams the whole file once: hashes every byte and copies the ranges the ops ask for.</summary>
    private static unsafe void ReadFile(string path, FileEntry entry, List<ReadOp> ops)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException($"checkpoint shard {path} is missing");
        if (info.Length != entry.Bytes)
            throw new InvalidDataException($"checkpoint shard {path} is {info.Length} bytes, the metadata says {entry.Bytes} (truncated or altered)");
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[Block];
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        long pos = 0;
        int k = 0;
        while (pos < entry.Bytes)
        {
            int n = fs.ReadAtLeast(buffer, (int)Math.Min(Block, entry.Bytes - pos), throwOnEndOfStream: false);
            if (n == 0) throw new InvalidDataException($"checkpoint shard {path} ended early at byte {pos} (truncated)");
            hash.AppendData(buffer, 0, n);
            long end = pos + n;
            for (int j = k; j < ops.Count && ops[j].FileOffset < end; j++)
            {
                var op = ops[j];
                long lo = Math.Max(op.FileOffset, pos), hi = Math.Min(op.FileOffset + op.Length, end);
                if (lo < hi)
                    new ReadOnlySpan<byte>(buffer, (int)(lo - pos), (int)(hi - lo))
                        .CopyTo(new Span<byte>((byte*)op.Dest + (lo - op.FileOffset), (int)(hi - lo)));
                if (op.FileOffset + op.Length <= end && j == k) k++;
            }
            pos = end;
        }
        if (k < ops.Count) throw new InvalidDataException($"checkpoint shard {path}: the metadata points past its end");
        var actual = Convert.ToHexStringLower(hash.GetHashAndReset());
        if (actual != entry.Sha256)
            throw new InvalidDataException($"checkpoint shard {path} fails its checksum (SHA-256 {actual[..12]}..., expected {entry.Sha256[..12]}...): the file was altered or damaged");
    }
}
