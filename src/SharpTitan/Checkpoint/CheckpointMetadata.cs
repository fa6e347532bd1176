using SharpTitan.Distributed;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
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
/// complete checkpoint). Describes global tensors, so any parallel layout can load any other. From version 3 it
/// carries its own SHA-256 (<see cref="MetadataSha256"/>); every version is checked on reading for chunks that tile
/// each tensor and each shard file exactly (<see cref="MetadataCheck"/>).
/// </summary>
internal sealed partial record CheckpointMetadata
{
    public const string FileName = "metadata.json", FormatName = "sharptitan-checkpoint";
    /// <summary>The version this build writes.</summary>
    public const int CurrentVersion = 3;
    private static readonly string Unsigned = new('0', 64);

    public string Format { get; init; } = FormatName;
    /// <summary>
    /// 3 added <see cref="MetadataSha256"/>; 2 added chunk blocks (tensor parallel). Versions 1 and 2 (no checksum)
    /// still load, with the same layout checks.
    /// </summary>
    public int Version { get; init; } = CurrentVersion;
    /// <summary>SHA-256 of this file's UTF-8 text with this value written as 64 zeros (version 3 and later).</summary>
    public string? MetadataSha256 { get; init; }
    public int Step { get; init; }
    public bool ModelOnly { get; init; }
    public long OptimizerStep { get; init; }
    public int WorldSize { get; init; }
    /// <summary>DataLoaderState as JSON (the global stream's position: the same on every rank).</summary>
    public string? DataLoader { get; init; }
    /// <summary>
    /// The tokenizer file the run trained with, copied into the step folder (tokenizer/NAME, listed in
    /// <see cref="Files"/>; see <see cref="CheckpointTokenizer"/>). Absent in older checkpoints and with cl100k_base:
    /// readers then use the config's model.tokenizer_path.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Tokenizer { get; init; }
    public List<FileEntry> Files { get; init; } = [];
    public List<TensorEntry> Tensors { get; init; } = [];

    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
    };

    [GeneratedRegex("\"metadata_sha256\": \"([0-9a-f]{64})\"")] private static partial Regex ChecksumField();

    /// <summary>The file's text: the current version, signed with its own SHA-256.</summary>
    public string ToJson()
    {
        var text = JsonSerializer.Serialize(this with { Version = CurrentVersion, MetadataSha256 = Unsigned }, Json);
        var sha = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
        return ChecksumField().Replace(text, $"\"metadata_sha256\": \"{sha}\"", 1);
    }

    /// <summary>
    /// Reads and checks metadata.json: its checksum (version 3 and later), then that every tensor's chunks cover it
    /// exactly once and every shard file's chunks lie back to back inside it. Throws naming the file.
    /// </summary>
    public static CheckpointMetadata Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: missing (not a complete checkpoint)");
        var text = File.ReadAllText(path);
        CheckpointMetadata? m;
        try { m = JsonSerializer.Deserialize<CheckpointMetadata>(text, Json); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not valid checkpoint metadata ({e.Message})"); }
        if (m == null || m.Format != FormatName) throw new InvalidDataException($"{path}: not a SharpTitan checkpoint (format \"{m?.Format}\")");
        if (m.Version is < 1 or > CurrentVersion)
            throw new InvalidDataException($"{path}: checkpoint format version {m.Version} (this build reads 1 to {CurrentVersion})");
        if (m.Version >= 3) CheckChecksum(path, text, m.MetadataSha256);
        MetadataCheck.Layout(m, path);
        return m;
    }

    private static void CheckChecksum(string path, string text, string? stored)
    {
        var match = ChecksumField().Match(text);
        if (stored == null || !match.Success || match.Groups[1].Value != stored)
            throw new InvalidDataException($"{path}: the metadata checksum (metadata_sha256) is missing or malformed: the file was altered or damaged");
        var unsigned = string.Concat(text.AsSpan(0, match.Groups[1].Index), Unsigned, text.AsSpan(match.Groups[1].Index + 64));
        var actual = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(unsigned)));
        if (actual != stored)
            throw new InvalidDataException($"{path} fails its checksum (SHA-256 {actual[..12]}..., expected {stored[..12]}...): the metadata was altered or damaged");
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
