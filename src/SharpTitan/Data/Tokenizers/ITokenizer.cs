namespace SharpTitan.Data;

/// <summary>Text to token ids and back. Special tokens are counted in <see cref="VocabSize"/>.</summary>
public interface ITokenizer
{
    int VocabSize { get; }
    /// <summary>BOS, EOS (and PAD when there is one): text and ids.</summary>
    SpecialTokens Specials { get; }
    int BosId => Specials.BosId;
    int EosId => Specials.EosId;
    /// <summary>Ids of the text alone, without BOS or EOS.</summary>
    int[] Encode(string text);
    string Decode(IEnumerable<int> ids);
}
