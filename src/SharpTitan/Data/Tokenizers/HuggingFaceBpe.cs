using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace SharpTitan.Data;

/// <summary>
/// Byte-level BPE from a Hugging Face tokenizer.json (model.vocab, model.merges, added_tokens, and a Split regex
/// and/or ByteLevel pre-tokenizer), as Llama 3's Hugging Face repository ships it. BOS/EOS are the added tokens
/// that tokenizer_config.json beside the file names (bos_token, eos_token), else the added tokens named
/// &lt;|begin_of_text|&gt; / &lt;|end_of_text|&gt; (or &lt;s&gt; / &lt;/s&gt;, or &lt;|endoftext|&gt; for both).
/// </summary>
public static class HuggingFaceBpe
{
    /// <summary>GPT-2's pattern, which a ByteLevel pre-tokenizer with use_regex = true applies.</summary>
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private static readonly string[] BosNames = ["<|begin_of_text|>", "<s>", "<bos>", "<|endoftext|>"];
    private static readonly string[] EosNames = ["<|end_of_text|>", "</s>", "<eos>", "<|endoftext|>"];

    /// <summary>Whether a parsed JSON file is a Hugging Face tokenizer (has a "model" object with a "type").</summary>
    public static bool IsHuggingFaceTokenizer(JsonElement root) =>
        root.ValueKind == JsonValueKind.Object && root.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.Object
        && m.TryGetProperty("type", out _);

    public static MlTokenizerAdapter Load(string path, JsonElement root)
    {
        var model = root.GetProperty("model");
        string type = model.GetProperty("type").GetString() ?? "";
        if (type != "BPE") throw new InvalidDataException($"{path}: model.type is \"{type}\"; this build reads byte-level BPE tokenizers only");
        if (!model.TryGetProperty("vocab", out var vocabJson) || vocabJson.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"{path}: model.vocab is missing");
        var vocab = new Dictionary<string, int>();
        foreach (var p in vocabJson.EnumerateObject()) vocab[p.Name] = p.Value.GetInt32();
        var merges = ReadMerges(path, model);

        var specials = new Dictionary<string, int>();
        if (root.TryGetProperty("added_tokens", out var added) && added.ValueKind == JsonValueKind.Array)
            foreach (var t in added.EnumerateArray())
                specials[t.GetProperty("content").GetString()!] = t.GetProperty("id").GetInt32();
        int vocabSize = Math.Max(vocab.Values.DefaultIfEmpty(-1).Max(), specials.Values.DefaultIfEmpty(-1).Max()) + 1;
        var named = HfTokenizerConfig.Specials(path);
        int Special(string? name, string[] guesses, string what) => name != null
            ? Named(name, vocab, specials, ref vocabSize)
            : Find(path, specials, guesses, what);
        int bos = Special(named.Bos, BosNames, "BOS"), eos = Special(named.Eos, EosNames, "EOS");
        int? pad = named.Pad is { } padName && (specials.TryGetValue(padName, out int id) || vocab.TryGetValue(padName, out id)) ? id : null;
        foreach (var name in specials.Keys) vocab.Remove(name);

        string pattern = PreTokenizerPattern(path, root);
        var inner = BpeTokenizer.Create(new BpeOptions(vocab)
        {
            Merges = merges,
            SpecialTokens = specials.Count > 0 ? specials : null,
            // No special tokens in the pre-tokenizer: special-token strings inside the text stay text.
            PreTokenizer = new RegexPreTokenizer(new Regex(pattern, RegexOptions.Compiled), null),
            ByteLevel = true,
        });
        var tokens = new SpecialTokens(named.Bos ?? Text(specials, bos), bos, named.Eos ?? Text(specials, eos), eos, pad != null ? named.Pad : null, pad);
        return new MlTokenizerAdapter(inner, vocabSize, tokens,
            $"Hugging Face byte-level BPE {Path.GetFileName(path)}: {vocab.Count:N0} tokens, {merges.Count:N0} merges, {specials.Count} added tokens");
    }

    /// <summary>
    /// A token tokenizer_config.json names: an added token, else a vocabulary entry, else, as torchtitan's tokenizer
    /// does, a new special token after the last id.
    /// </summary>
    private static int Named(string name, Dictionary<string, int> vocab, Dictionary<string, int> specials, ref int vocabSize)
    {
        if (specials.TryGetValue(name, out int id) || vocab.TryGetValue(name, out id)) return id;
        return specials[name] = vocabSize++;
    }

    private static string Text(Dictionary<string, int> specials, int id) => specials.First(kv => kv.Value == id).Key;

    private static List<string> ReadMerges(string path, JsonElement model)
    {
        var merges = new List<string>();
        if (!model.TryGetProperty("merges", out var m)) return merges;
        foreach (var e in m.EnumerateArray())
            merges.Add(e.ValueKind switch
            {
                JsonValueKind.String => e.GetString()!,
                JsonValueKind.Array when e.GetArrayLength() == 2 => $"{e[0].GetString()} {e[1].GetString()}",
                _ => throw new InvalidDataException($"{path}: model.merges entry {merges.Count} is neither \"a b\" nor [\"a\", \"b\"]"),
            });
        return merges;
    }

    /// <summary>The Split regex of the pre-tokenizer, else GPT-2's when ByteLevel has use_regex; byte-level is required.</summary>
    private static string PreTokenizerPattern(string path, JsonElement root)
    {
        string? split = null;
        bool byteLevel = false, byteLevelRegex = false;
        void Visit(JsonElement p)
        {
            if (p.ValueKind != JsonValueKind.Object || !p.TryGetProperty("type", out var t)) return;
            switch (t.GetString())
            {
                case "Sequence":
                    foreach (var child in p.GetProperty("pretokenizers").EnumerateArray()) Visit(child);
                    break;
                case "Split" when p.TryGetProperty("pattern", out var pat) && pat.TryGetProperty("Regex", out var rx):
                    split ??= rx.GetString();
                    break;
                case "ByteLevel":
                    byteLevel = true;
                    byteLevelRegex = !p.TryGetProperty("use_regex", out var u) || u.ValueKind != JsonValueKind.False;
                    break;
            }
        }
        if (root.TryGetProperty("pre_tokenizer", out var pre)) Visit(pre);
        if (!byteLevel) throw new InvalidDataException($"{path}: the pre_tokenizer has no ByteLevel step; this build reads byte-level BPE tokenizers only");
        return split ?? (byteLevelRegex ? Gpt2Pattern : @"[\s\S]+");
    }

    private static int Find(string path, Dictionary<string, int> specials, string[] names, string what)
    {
        foreach (var n in names) if (specials.TryGetValue(n, out int id)) return id;
        throw new InvalidDataException($"{path}: no {what} token among added_tokens (looked for {string.Join(", ", names)})");
    }
}
