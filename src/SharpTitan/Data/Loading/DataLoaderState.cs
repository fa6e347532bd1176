using System.Text.Json;

namespace SharpTitan.Data;

/// <summary>
/// Where the global token stream stands after the last batch a loader handed out: small and serialisable, and the
/// same on every rank (the stream is global; ranks only pick rows), so it also resumes under another dp layout.
/// A text stream stands at token <see cref="TokenOffset"/> of the document at (<see cref="File"/>,
/// <see cref="Record"/>) counted as [BOS] text [EOS]: re-tokenizing that one document restores the token buffer
/// exactly, so the buffer itself need not be stored. A token file stands at global window <see cref="Window"/>.
/// There is no rng: documents are read in order, never shuffled.
/// </summary>
public sealed record DataLoaderState
{
    /// <summary>Global micro-batches handed out so far.</summary>
    public long Batches { get; init; }
    public int Epoch { get; init; }
    public int File { get; init; }
    public long Record { get; init; }
    public int TokenOffset { get; init; }
    public long Window { get; init; }

    public string ToJson() => JsonSerializer.Serialize(this);

    public static DataLoaderState FromJson(string json, string what = "data loader state")
    {
        try { return JsonSerializer.Deserialize<DataLoaderState>(json) ?? throw new InvalidDataException($"{what}: empty"); }
        catch (JsonException e) { throw new InvalidDataException($"{what}: not valid ({e.Message})"); }
    }
}
