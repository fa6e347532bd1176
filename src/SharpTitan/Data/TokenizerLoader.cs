using System.Text.Json;

namespace SharpTitan.Data;

/// <summary>Builds the tokenizer that `model.tokenizer_path` names.</summary>
public static class TokenizerLoader
{
    public static ITokenizer Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"model.tokenizer_path: tokenizer file not found: {path}");
        if (path.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
        {
            using var doc = ParseJson(path);
            if (doc.RootElement.TryGetProperty("type", out var type) && type.GetString() == "byte-level")
                return new ByteTokenizer();
        }
        throw new InvalidDataException(
            $"model.tokenizer_path: {path} is not a tokenizer this build reads (expected the byte-level tokenizer JSON, e.g. assets/tokenizer/byte_tokenizer.json)");
    }

    private static JsonDocument ParseJson(string path)
    {
        try { return JsonDocument.Parse(File.ReadAllText(path)); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not valid JSON ({e.Message})"); }
    }
}
