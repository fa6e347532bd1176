using SharpTitan.Config;
using SharpTitan.Data;

namespace SharpTitan.Tests.Data;

/// <summary>Issue 20: the special tokens tokenizer_config.json names beside a tokenizer.json are the BOS/EOS/PAD used.</summary>
public class TokenizerConfigSpecialsTests
{
    /// <summary>added_tokens: 259 &lt;|endoftext|&gt;, 260 &lt;|pad|&gt;; vocabulary 0-258 (bytes and three merges).</summary>
    private static string Write(TempDir dir, string config)
    {
        var path = HuggingFaceBpeTests.Write(dir, llamaStyle: false, arrayMerges: true);
        File.WriteAllText(dir.File(HfTokenizerConfig.FileName), config);
        return path;
    }

    [Fact]
    public void NamedTokensAsStringsOrContentObjectsGiveTheIds()
    {
        using var dir = new TempDir();
        // As torchtitan's test tokenizer: BOS named but in neither added_tokens nor the vocabulary (appended, as torchtitan does).
        var t = TokenizerLoader.Load(Write(dir, """
            {"bos_token": {"content": "<|begin_of_text|>", "special": true}, "eos_token": "<|endoftext|>", "pad_token": "<|pad|>"}
            """));
        Assert.Equal(new SpecialTokens("<|begin_of_text|>", 261, "<|endoftext|>", 259, "<|pad|>", 260), t.Specials);
        Assert.Equal(262, t.VocabSize);
        Assert.Equal("hi", t.Decode(t.Encode("hi")));
    }

    [Fact]
    public void ANamedVocabularyEntryIsTheSpecialToken()
    {
        using var dir = new TempDir();
        var t = TokenizerLoader.Load(Write(dir, """{"bos_token": "he", "eos_token": "<|pad|>"}"""));
        Assert.Equal((257, 260, 261), (t.BosId, t.EosId, t.VocabSize));
        Assert.Equal("he", t.Specials.Bos);
        Assert.Null(t.Specials.Pad);
    }

    [Fact]
    public void HfAssetsPathAndAFolderPathReadTheFoldersTokenizerConfig()
    {
        using var dir = new TempDir();
        Write(dir, """{"bos_token": "<|pad|>", "eos_token": "<|endoftext|>"}""");
        var config = ConfigLoader.Load(null, ["--model.hf_assets_path", dir.Path]);
        foreach (var path in new[] { ModelAssets.TokenizerPath(config.Model), dir.Path })
        {
            var t = TokenizerLoader.Load(path);
            Assert.Equal((260, 259), (t.BosId, t.EosId));
        }
    }

    [Fact]
    public void WithoutTokenizerConfigTheUsualNamesAreLookedFor()
    {
        using var dir = new TempDir();
        var t = TokenizerLoader.Load(HuggingFaceBpeTests.Write(dir, llamaStyle: true, arrayMerges: true));
        Assert.Equal(new SpecialTokens("<|begin_of_text|>", 259, "<|end_of_text|>", 260), t.Specials);
    }
}
