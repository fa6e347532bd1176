using System.Text.Json;
using System.Text.Json.Nodes;

namespace SharpTitan.Data;

/// <summary>
/// Hugging Face's tokenizer_config.json beside a tokenizer.json: the special tokens it names (bos_token, eos_token,
/// pad_token, each a string or {"content": ...}).
/// </summary>
public static class HfTokenizerConfig
{
    public const string FileName = "tokenizer_config.json";

    /// <summary>The token texts a tokenizer_config.json names; null where it names none (or there is no file).</summary>
    public sealed record Named(string? Bos, string? Eos, string? Pad);

    /// <summary>tokenizer_config.json in the folder of <paramref name="tokenizerPath"/>.</summary>
    public static string Beside(string tokenizerPath) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(tokenizerPath)) ?? ".", FileName);

    /// <summary>The file beside <paramref name="tokenizerPath"/> as JSON, or null when there is none.</summary>
    public static JsonObject? ReadBeside(string tokenizerPath)
    {
        var path = Beside(tokenizerPath);
        if (!File.Exists(path)) return null;
        try { return JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new InvalidDataException($"{path}: not a JSON object"); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not valid JSON ({e.Message})"); }
    }

    /// <summary>The special tokens named beside <paramref name="tokenizerPath"/>.</summary>
    public static Named Specials(string tokenizerPath)
    {
        var c = ReadBeside(tokenizerPath);
        return new Named(Token(c?["bos_token"]), Token(c?["eos_token"]), Token(c?["pad_token"]));
    }

    private static string? Token(JsonNode? node) => node switch
    {
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonObject o when o["content"] is JsonValue c && c.TryGetValue<string>(out var s) => s,
        _ => null,
    };
}
