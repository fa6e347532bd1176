using System.Text.Json;
using SharpTitan.Config;

namespace SharpTitan.Data;

/// <summary>
/// Builds the tokenizer that `model.tokenizer_path` names: "cl100k_base"; the project's byte-level JSON; a
/// Hugging Face tokenizer.json (byte-level BPE, with the special tokens tokenizer_config.json beside it names); a tiktoken
/// file such as Llama 3's tokenizer.model; or a folder of Hugging Face assets holding one of these.
/// </summary>
public static class TokenizerLoader
{
    /// <summary>The tokenizer file a path names: the path itself, or the tokenizer in a folder of Hugging Face assets.</summary>
    public static string Resolve(string path) => !Directory.Exists(path) ? path
        : ModelAssets.TokenizerIn(path) ?? throw new FileNotFoundException(
            $"model.tokenizer_path: no tokenizer in folder {path} (looked for {string.Join(", ", ModelAssets.TokenizerFiles)})");

    public static ITokenizer Load(string path)
    {
        if (path == Cl100kBase.Name) return Cl100kBase.Load();
        path = Resolve(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"model.tokenizer_path: tokenizer file not found: {path}");
        if (path.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
        {
            using var doc = ParseJson(path);
            var root = doc.RootElement;
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("type", out var type) && type.GetString() == "byte-level")
                return new ByteTokenizer();
            if (HuggingFaceBpe.IsHuggingFaceTokenizer(root)) return HuggingFaceBpe.Load(path, root);
        }
        else if (Llama3Tiktoken.LooksLikeTiktoken(path)) return Llama3Tiktoken.Load(path);
        throw new InvalidDataException(
            $"model.tokenizer_path: {path} is not a tokenizer this build reads (expected \"{Cl100kBase.Name}\", a tiktoken file, " +
            "a Hugging Face tokenizer.json, or the byte-level JSON assets/tokenizer/byte_tokenizer.json)");
    }

    /// <summary>One line for the setup log.</summary>
    public static string Describe(ITokenizer t) =>
        t is MlTokenizerAdapter m ? m.Description : t is ByteTokenizer ? "byte-level (256 bytes + BOS/EOS/PAD)" : t.GetType().Name;

    private static JsonDocument ParseJson(string path)
    {
        try { return JsonDocument.Parse(File.ReadAllText(path)); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not valid JSON ({e.Message})"); }
    }
}
