using System.Text;

namespace SharpTitan.Data;

/// <summary>
/// The project's debug tokenizer: the 256 UTF-8 byte values are ids 0-255, then BOS, EOS and PAD.
/// Any text round-trips; invalid UTF-8 decodes with replacement characters.
/// </summary>
public sealed class ByteTokenizer : ITokenizer
{
    public const int Bos = 256, Eos = 257, Pad = 258;
    public int VocabSize => 259;
    /// <summary>The names a Hugging Face export gives the three (the byte-level JSON itself names none).</summary>
    public SpecialTokens Specials { get; } = new("<|begin_of_text|>", Bos, "<|end_of_text|>", Eos, "<|pad|>", Pad);
    public int BosId => Bos;
    public int EosId => Eos;

    public int[] Encode(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var ids = new int[bytes.Length];
        for (int i = 0; i < bytes.Length; i++) ids[i] = bytes[i];
        return ids;
    }

    public string Decode(IEnumerable<int> ids) =>
        Encoding.UTF8.GetString(ids.Where(i => i is >= 0 and < 256).Select(i => (byte)i).ToArray());
}
