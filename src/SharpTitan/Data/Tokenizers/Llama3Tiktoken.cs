using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace SharpTitan.Data;

/// <summary>
/// A tiktoken-format BPE file (one "base64-token rank" per line) with Llama 3's conventions: its pre-tokenizer
/// pattern and 256 special tokens numbered right after the ranks, so BOS = ranks (128000 for Llama 3's own
/// tokenizer.model) and EOS = ranks + 1. Special-token strings inside the text are encoded as ordinary text.
/// </summary>
public static class Llama3Tiktoken
{
    public const int SpecialTokenCount = 256;

    public const string PreTokenizerPattern =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>Llama 3's special token names, in id order after the ranks.</summary>
    public static IReadOnlyList<string> SpecialTokenNames()
    {
        var names = new List<string>
        {
            "<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>", "<|reserved_special_token_1|>",
            "<|finetune_right_pad_id|>", "<|step_id|>", "<|start_header_id|>", "<|end_header_id|>",
            "<|eom_id|>", "<|eot_id|>", "<|python_tag|>",
        };
        for (int i = 2; names.Count < SpecialTokenCount; i++) names.Add($"<|reserved_special_token_{i}|>");
        return names;
    }

    public static MlTokenizerAdapter Load(string path)
    {
        int ranks = CountRanks(path);
        var names = SpecialTokenNames();
        var specials = new Dictionary<string, int>();
        for (int i = 0; i < names.Count; i++) specials[names[i]] = ranks + i;
        // The pre-tokenizer gets no special tokens: "<|end_of_text|>" typed in a web page stays text.
        var preTokenizer = new RegexPreTokenizer(new Regex(PreTokenizerPattern, RegexOptions.Compiled), null);
        using var stream = File.OpenRead(path);
        var inner = TiktokenTokenizer.Create(stream, preTokenizer, normalizer: null, specials);
        return new MlTokenizerAdapter(inner, ranks + SpecialTokenCount, new SpecialTokens(names[0], ranks, names[1], ranks + 1),
            $"tiktoken {Path.GetFileName(path)}: {ranks:N0} ranks + {SpecialTokenCount} special tokens");
    }

    /// <summary>Checks the file's format (naming the line at fault) and that its ranks are 0..n-1; returns n.</summary>
    public static int CountRanks(string path)
    {
        int lineNo = 0, count = 0;
        var seen = new HashSet<int>();
        foreach (var line in File.ReadLines(path))
        {
            lineNo++;
            if (line.Length == 0) continue;
            int space = line.IndexOf(' ');
            if (space <= 0 || !int.TryParse(line.AsSpan(space + 1), out int rank) || rank < 0 || !IsBase64(line.AsSpan(0, space)))
                throw new InvalidDataException($"{path}:{lineNo}: not a tiktoken line (expected \"base64-token rank\")");
            if (!seen.Add(rank)) throw new InvalidDataException($"{path}:{lineNo}: rank {rank} appears twice");
            count++;
        }
        if (count == 0) throw new InvalidDataException($"{path}: empty tiktoken file");
        if (seen.Max() != count - 1) throw new InvalidDataException($"{path}: ranks are not 0..{count - 1}");
        return count;
    }

    private static bool IsBase64(ReadOnlySpan<char> s)
    {
        Span<byte> buffer = stackalloc byte[s.Length];
        return Convert.TryFromBase64Chars(s, buffer, out _);
    }

    /// <summary>Whether the file's first line looks like tiktoken ("base64 rank").</summary>
    public static bool LooksLikeTiktoken(string path)
    {
        using var reader = new StreamReader(path);
        var buffer = new char[512];
        int n = reader.ReadBlock(buffer, 0, buffer.Length);
        var first = new string(buffer, 0, n).Split('\n')[0].TrimEnd('\r');
        int space = first.IndexOf(' ');
        return space > 0 && int.TryParse(first.AsSpan(space + 1), out _) && IsBase64(first.AsSpan(0, space));
    }
}
