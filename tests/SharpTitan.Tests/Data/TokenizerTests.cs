using System.Text;
using SharpTitan.Data;

namespace SharpTitan.Tests.Data;

public class TokenizerTests
{
    public static readonly string[] Texts =
    [
        "hello world", "", " ", "Hello, World!\n\nNew paragraph\twith tabs  and   spaces.",
        "naïve café, Straße, 日本語のテキスト, Ελληνικά, עברית", "emoji: 😀👍🏽 👩‍👩‍👧‍👦 🇫🇷",
        "numbers 1234567 3.14159 and code: if (x != 0) { y += x; }", "<|begin_of_text|> typed in a page",
        "don't you'll WE'RE I'M", "\r\n\r\n   \n",
    ];

    private static IEnumerable<ITokenizer> All() =>
    [
        new ByteTokenizer(), TokenizerLoader.Load(SharedData.TestTiktoken), TokenizerLoader.Load("cl100k_base"),
    ];

    [Fact]
    public void Cl100kBaseEncodesKnownIds()
    {
        var t = TokenizerLoader.Load("cl100k_base");
        Assert.Equal([15339, 1917], t.Encode("hello world"));
        Assert.Equal(100277, t.VocabSize);
        Assert.Equal(100257, t.BosId);
        Assert.Equal(100257, t.EosId);
        Assert.Equal("hello world", t.Decode([15339, 1917]));
    }

    [Fact]
    public void TestTiktokenFollowsLlama3Conventions()
    {
        var t = TokenizerLoader.Load(SharedData.TestTiktoken);
        Assert.Equal(2000 + 256, t.VocabSize);
        Assert.Equal(2000, t.BosId);
        Assert.Equal(2001, t.EosId);
        // ranks 0-255 are the bytes; rank 256 is " t" and 257 "he" (see the file): " the" merges to fewer ids than bytes
        Assert.Equal([256], t.Encode(" t"));
        Assert.True(t.Encode(" the the the").Length < " the the the".Length);
        Assert.All(t.Encode("hello world 😀"), id => Assert.InRange(id, 0, 1999));
        // special-token strings in text stay text; the special ids decode to their names
        Assert.DoesNotContain(2000, t.Encode("<|begin_of_text|>"));
        Assert.Equal("<|begin_of_text|>", t.Decode([2000]));
    }

    [Fact]
    public void TiktokenUsesTheLlama3PreTokenizerPattern()
    {
        // Llama 3 splits digits in groups of at most three: no id may span "1234" as one piece.
        var t = TokenizerLoader.Load(SharedData.TestTiktoken);
        var ids = t.Encode("1234");
        Assert.Equal("1234", t.Decode(ids));
        Assert.True(ids.Length >= 2);
        Assert.Equal("123", t.Decode(ids.Take(ids.Length - 1)));
    }

    [Fact]
    public void EveryTokenizerRoundTripsUnicodeText()
    {
        foreach (var t in All())
            foreach (var text in Texts)
                Assert.Equal(text, t.Decode(t.Encode(text)));
    }

    [Fact]
    public void RandomUtf8RoundTrips()
    {
        var rng = new Random(1234);
        foreach (var t in All())
            for (int trial = 0; trial < 200; trial++)
            {
                var sb = new StringBuilder();
                int len = rng.Next(1, 40);
                for (int i = 0; i < len; i++)
                {
                    int cp = rng.Next(4) switch { 0 => rng.Next(0x20, 0x7F), 1 => rng.Next(0xA0, 0x800), 2 => rng.Next(0x3000, 0xD7FF), _ => rng.Next(0x1F300, 0x1FAFF) };
                    sb.Append(char.ConvertFromUtf32(cp));
                }
                string text = sb.ToString();
                Assert.Equal(text, t.Decode(t.Encode(text)));
            }
    }

    [Fact]
    public void InvalidUtf16BecomesReplacementCharactersLikeUtf8Does()
    {
        string broken = "a\uD800b\uDC00c 😀";
        string expected = Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(broken));
        Assert.Contains('\uFFFD', expected);
        foreach (var t in All()) Assert.Equal(expected, t.Decode(t.Encode(broken)));
    }

    [Fact]
    public void DecodingPartOfAMultiByteCharacterGivesReplacementNotAnError()
    {
        foreach (var t in new ITokenizer[] { new ByteTokenizer(), TokenizerLoader.Load(SharedData.TestTiktoken) })
        {
            var ids = t.Encode("😀");
            Assert.True(ids.Length > 1);
            string half = t.Decode(ids.Take(ids.Length - 1));
            Assert.DoesNotContain("😀", half);
            Assert.Contains('\uFFFD', half);
        }
    }

    [Fact]
    public void UnknownTokenizerFileIsAOneLineError()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("x.txt"), "not a tokenizer\n");
        var e = Assert.Throws<InvalidDataException>(() => TokenizerLoader.Load(dir.File("x.txt")));
        Assert.Contains(dir.File("x.txt"), e.Message);
        Assert.Throws<FileNotFoundException>(() => TokenizerLoader.Load(dir.File("missing.model")));
        File.WriteAllText(dir.File("bad.model"), "AA== 0\nnot base64!! x\n");
        Assert.Throws<InvalidDataException>(() => TokenizerLoader.Load(dir.File("bad.model")));
    }
}
