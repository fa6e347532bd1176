using System.Text.Json;
using SharpTitan.Data;

namespace SharpTitan.Tests.Data;

public class HuggingFaceBpeTests
{
    /// <summary>GPT-2's byte-to-character alphabet that byte-level BPE vocabularies are written in.</summary>
    private static string[] ByteAlphabet()
    {
        var chars = new string[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= 33 and <= 126 or >= 161 and <= 172 or >= 174 and <= 255;
            chars[b] = ((char)(printable ? b : next++)).ToString();
        }
        return chars;
    }

    /// <summary>Writes a tokenizer.json with the 256 bytes, three merges (" t", "he", " the") and BOS/EOS.</summary>
    internal static string Write(TempDir dir, bool llamaStyle, bool arrayMerges)
    {
        var alphabet = ByteAlphabet();
        var vocab = new Dictionary<string, int>();
        for (int b = 0; b < 256; b++) vocab[alphabet[b]] = b;
        string sp = alphabet[' '];
        vocab[sp + "t"] = 256; vocab["he"] = 257; vocab[sp + "the"] = 258;
        string[][] merges = [[sp, "t"], ["h", "e"], [sp + "t", "he"]];
        object preTokenizer = llamaStyle
            ? new { type = "Sequence", pretokenizers = new object[] {
                new { type = "Split", pattern = new { Regex = Llama3Tiktoken.PreTokenizerPattern }, behavior = "Isolated", invert = false },
                new { type = "ByteLevel", add_prefix_space = false, trim_offsets = true, use_regex = false } } }
            : new { type = "ByteLevel", add_prefix_space = false, trim_offsets = true, use_regex = true };
        var json = new
        {
            version = "1.0",
            added_tokens = new object[]
            {
                new { id = 259, content = llamaStyle ? "<|begin_of_text|>" : "<|endoftext|>", special = true },
                new { id = 260, content = llamaStyle ? "<|end_of_text|>" : "<|pad|>", special = true },
            },
            pre_tokenizer = preTokenizer,
            model = new
            {
                type = "BPE", vocab,
                merges = arrayMerges ? (object)merges : merges.Select(m => $"{m[0]} {m[1]}").ToArray(),
            },
        };
        string path = dir.File("tokenizer.json");
        File.WriteAllText(path, JsonSerializer.Serialize(json));
        return path;
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(true, true)]
    [InlineData(false, true)]
    public void EncodesWithMergesAndRoundTrips(bool llamaStyle, bool arrayMerges)
    {
        using var dir = new TempDir();
        var t = TokenizerLoader.Load(Write(dir, llamaStyle, arrayMerges));
        Assert.Equal(261, t.VocabSize);
        Assert.Equal([258], t.Encode(" the"));
        Assert.Equal([258, 258, 256, 'o'], t.Encode(" the the to"));
        Assert.Equal(['h', 'i', '!'], t.Encode("hi!"));
        Assert.Equal(259, t.BosId);
        Assert.Equal(llamaStyle ? 260 : 259, t.EosId);
        foreach (var text in TokenizerTests.Texts) Assert.Equal(text, t.Decode(t.Encode(text)));
    }

    [Fact]
    public void NonByteLevelModelIsRejectedNamingTheFile()
    {
        using var dir = new TempDir();
        string path = dir.File("tokenizer.json");
        File.WriteAllText(path, """{"model": {"type": "WordPiece", "vocab": {}}}""");
        var e = Assert.Throws<InvalidDataException>(() => TokenizerLoader.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("WordPiece", e.Message);
    }
}
