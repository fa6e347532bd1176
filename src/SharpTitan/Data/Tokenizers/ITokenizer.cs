namespace SharpTitan.Data;

/// <summary>Text to token ids and back. Special tokens are counted in <see cref="VocabSize"/>.</summary>
public interface ITokenizer
{
    int VocabSize { get; }
    int BosId { get; }
    int EosId { get; }
    /// <summary>Ids of the text alone, without BOS or EOS.</summary>
    int[] Encode(string text);
    string Decode(IEnumerable<int> ids);
}
