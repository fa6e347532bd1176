using System.Text.Json;
using System.Text.Json.Nodes;
using SharpTitan.Data;

namespace SharpTitan.Checkpoint.HuggingFace;

/// <summary>
/// The tokenizer files of a Hugging Face export, so transformers' AutoTokenizer loads the folder: a Hugging Face
/// tokenizer.json is copied as is; the byte-level debug tokenizer is written as the equivalent tokenizer.json (a
/// byte-level BPE of the 256 bytes, no merges, its three special tokens); a tiktoken file is copied as tokenizer.model.
/// Each gets a tokenizer_config.json (the source's own when it has one) naming bos_token, eos_token, pad_token when
/// there is one, and model_max_length. cl100k_base is built in and writes no file.
/// </summary>
internal static class HfTokenizerFiles
{
    public const string Json = "tokenizer.json", Tiktoken = "tokenizer.model";

    /// <summary>Writes the files into <paramref name="folder"/>; returns their names.</summary>
    public static List<string> Write(string folder, string tokenizerPath, ITokenizer tokenizer, int maxLength)
    {
        if (tokenizerPath == Cl100kBase.Name) return [];
        var source = TokenizerLoader.Resolve(tokenizerPath);
        bool hfJson = tokenizer is MlTokenizerAdapter && source.EndsWith(".json", StringComparison.OrdinalIgnoreCase);
        string name = tokenizer is ByteTokenizer || hfJson ? Json : Tiktoken;
        if (tokenizer is ByteTokenizer) File.WriteAllText(Path.Combine(folder, name), ByteLevelJson(tokenizer.Specials).ToJsonString());
        else File.Copy(source, Path.Combine(folder, name));
        var config = (hfJson ? HfTokenizerConfig.ReadBeside(source) : null) ?? new JsonObject();
        var s = tokenizer.Specials;
        config["tokenizer_class"] ??= "PreTrainedTokenizerFast";
        config["bos_token"] = s.Bos;
        config["eos_token"] = s.Eos;
        if (s.Pad != null) config["pad_token"] = s.Pad;
        config["model_max_length"] = maxLength;
        config["clean_up_tokenization_spaces"] ??= false;
        File.WriteAllText(Path.Combine(folder, HfTokenizerConfig.FileName), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        return [name, HfTokenizerConfig.FileName];
    }

    /// <summary>The byte tokenizer as a Hugging Face tokenizer.json: byte b is token b, then the special tokens.</summary>
    private static JsonObject ByteLevelJson(SpecialTokens s)
    {
        var vocab = new JsonObject();
        for (int b = 0; b < 256; b++) vocab[ByteLevelChar(b).ToString()] = b;
        var added = new JsonArray();
        foreach (var (content, id) in new[] { (s.Bos, s.BosId), (s.Eos, s.EosId), (s.Pad, s.PadId) })
            if (content != null && id != null)
                added.Add(new JsonObject
                {
                    ["id"] = id, ["content"] = content, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false,
                    ["normalized"] = false, ["special"] = true,
                });
        JsonObject ByteLevel(bool useRegex) => new()
        {
            ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = useRegex,
        };
        return new JsonObject
        {
            ["version"] = "1.0", ["truncation"] = null, ["padding"] = null, ["added_tokens"] = added, ["normalizer"] = null,
            ["pre_tokenizer"] = ByteLevel(false), ["post_processor"] = null, ["decoder"] = ByteLevel(true),
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["continuing_subword_prefix"] = null,
                ["end_of_word_suffix"] = null, ["fuse_unk"] = false, ["byte_fallback"] = false, ["ignore_merges"] = false,
                ["vocab"] = vocab, ["merges"] = new JsonArray(),
            },
        };
    }

    /// <summary>GPT-2's byte-to-character alphabet, in which byte-level BPE vocabularies are written.</summary>
    private static char ByteLevelChar(int b)
    {
        if (b is >= 33 and <= 126 or >= 161 and <= 172 or >= 174 and <= 255) return (char)b;
        int shifted = 0; // the unprintable bytes, in order, map to 256, 257, ...
        for (int i = 0; i < b; i++)
            if (!(i is >= 33 and <= 126 or >= 161 and <= 172 or >= 174 and <= 255)) shifted++;
        return (char)(256 + shifted);
    }
}
