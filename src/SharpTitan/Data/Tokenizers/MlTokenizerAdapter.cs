using MlTokenizer = Microsoft.ML.Tokenizers.Tokenizer;

namespace SharpTitan.Data;

/// <summary>
/// An <see cref="ITokenizer"/> over a Microsoft.ML.Tokenizers tokenizer, with the special tokens and vocabulary size
/// (special tokens included) that the file conventions define.
/// </summary>
public sealed class MlTokenizerAdapter : ITokenizer
{
    private readonly MlTokenizer _inner;

    public MlTokenizerAdapter(MlTokenizer inner, int vocabSize, SpecialTokens specials, string description)
    {
        _inner = inner;
        VocabSize = vocabSize;
        Specials = specials;
        Description = description;
    }

    public int VocabSize { get; }
    public SpecialTokens Specials { get; }
    public int BosId => Specials.BosId;
    public int EosId => Specials.EosId;
    /// <summary>What was loaded, for the setup log (e.g. "tiktoken test_tiktoken.model, 2,000 ranks + 256 specials").</summary>
    public string Description { get; }

    public int[] Encode(string text) =>
        text.Length == 0 ? [] : _inner.EncodeToIds(Utf8Text.Sanitize(text), considerPreTokenization: true, considerNormalization: true).ToArray();

    public string Decode(IEnumerable<int> ids) => _inner.Decode(ids);
}
