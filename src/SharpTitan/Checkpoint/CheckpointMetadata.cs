using SharpTitan.Distributed;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SharpTitan.Checkpoint;

/// <summary>One file of a checkpoint: its size and SHA-256 (lower-case hex).</summary>
internal sealed record FileEntry(string Name, long Bytes, string Sha256);

/// <summary>
/// Elements [Start, Start + Count) of a tensor, stored at byte Offset of File. With BlockOffset and BlockShape
/// (a tensor-parallel slice; see <see cref="TensorBlock"/>) the range is of that block in row-major order, else
/// of the whole tensor.
/// </summary>
internal sealed record ChunkEntry(string File, long Start, long Count, long Offset,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long[]? BlockOffset = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long[]? BlockShape = null)
{
    [JsonIgnore] public TensorBlock? Block => BlockOffset is { } o && BlockShape is { } s ? new TensorBlock(o, s) : null;
}

/// <summary>A global tensor: full shape, dtype as stored, and the chunks that together cover it exactly once.</summary>
internal sealed record TensorEntry(string Name, string Dtype, long[] Shape, List<ChunkEntry> Chunks)
{
    [JsonIgnore] public long Numel => Shape.Aggregate(1L, (a, b) => a * b);
}

/// <summary>
/// metadata.json of a checkpoint step folder, written by rank 0 last (its presence after the rename marks a
/// complete checkpoint). Describes global tensors, so any parallel layout can load any other.
/// </summary>
internal sealed record CheckpointMetadata
{
    public const string FileName = "metadata.json", FormatName = "sharptitan-checkpoint";
    public string Format { get; init; } = FormatName;
    /// <summary>2 added chunk blocks (tensor parallel); version 1 files (whole-tensor ranges only) still load.</summary>
    public int Version { get; init; } = 2;
    public int Step { get; init; }
    public bool ModelOnly { get; init; }
    public long OptimizerStep { get; init; }
    public int WorldSize { get; init; }
    /// <summary>DataLoaderState as JSON (the global stream's position: the same on every rank).</summary>
    public string? DataLoader { get; init; }
    public List<FileEntry> Files { get; init; } = [];
    public List<TensorEntry> Tensors { get; init; } = [];

    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static CheckpointMetadata Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: missing (not a complete checkpoint)");
        CheckpointMetadata? m;
        try { m = JsonSerializer.Deserialize<CheckpointMetadata>(File.ReadAllText(path), Json); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not valid checkpoint metadata ({e.Message})"); }
        if (m == null || m.Format != FormatName) throw new InvalidDataException($"{path}: not a SharpTitan checkpoint (format \"{m?.Format}\")");
        if (m.Version is not (1 or 2)) throw new InvalidDataException($"{path}: checkpoint format version {m.Version} (this build reads 1 and 2)");
        return m;
    }
}

/// <summary>What one rank wrote (shard-R.json next to shard-R.bin); rank 0 merges these into the metadata.</summary>
internal sealed record RankManifest(int Rank, FileEntry File, List<RankChunk> Chunks)
{
    public static RankManifest Read(string path) =>
        JsonSerializer.Deserialize<RankManifest>(System.IO.File.ReadAllText(path), CheckpointMetadata.Json)
        ?? throw new InvalidDataException($"{path}: empty");
}

/// <summary>A chunk as its writer knows it (with the tensor's name, dtype and shape).</summary>
internal sealed record RankChunk(string Tensor, string Dtype, long[] Shape, long Start, long Count, long Offset,
    long[]? BlockOffset = null, long[]? BlockShape = null);
