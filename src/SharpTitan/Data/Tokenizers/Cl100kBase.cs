using Microsoft.ML.Tokenizers;

namespace SharpTitan.Data;

/// <summary>
/// OpenAI's cl100k_base, from the Microsoft.ML.Tokenizers.Data.Cl100kBase package (no download). It has one
/// document-boundary token, &lt;|endoftext|&gt; (100257), which serves as both BOS and EOS; the vocabulary runs to the
/// last special token, &lt;|endofprompt|&gt; (100276).
/// </summary>
public static class Cl100kBase
{
    public const string Name = "cl100k_base";
    public const int EndOfText = 100257, VocabSize = 100277;

    public static MlTokenizerAdapter Load()
    {
        var inner = TiktokenTokenizer.CreateForEncoding(Name);
        return new MlTokenizerAdapter(inner, VocabSize, new SpecialTokens("<|endoftext|>", EndOfText, "<|endoftext|>", EndOfText), "cl100k_base (<|endoftext|> as BOS and EOS)");
    }
}
