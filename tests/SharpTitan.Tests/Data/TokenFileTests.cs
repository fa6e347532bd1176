using SharpTitan.Data;

namespace SharpTitan.Tests.Data;

public class TokenFileTests
{
    private static string Prepare(TempDir dir, DocumentSource source, ITokenizer tokenizer)
    {
        string bin = dir.File("data.bin");
        using var writer = new TokenFileWriter(bin, tokenizer);
        foreach (var doc in source.Documents()) writer.Add(doc);
        return bin;
    }

    [Fact]
    public void TokenFileGivesTheSameBatchesAsStreamingAcrossEpochs()
    {
        using var dir = new TempDir();
        var tokenizer = TokenizerLoader.Load(SharedData.TestTiktoken);
        var source = DatasetCatalog.Resolve("x", SharedData.C4Validation);
        var docs = source.Documents().Take(6).ToList();
        File.WriteAllLines(dir.File("small.jsonl"), docs.Select(d => System.Text.Json.JsonSerializer.Serialize(new { text = d })));
        var text = new DataSpec("x", dir.File("small.jsonl"));
        string bin = Prepare(dir, DatasetCatalog.Resolve("x", dir.File("small.jsonl")), tokenizer);

        using (var file = TokenFile.Open(bin))
        {
            Assert.Equal(6, file.ReadIndex().Length);
            Assert.Equal(0, file.ReadIndex()[0]);
            Assert.Equal(2, file.BytesPerToken);
            Assert.Equal(docs.Sum(d => tokenizer.Encode(d).Length + 2), file.TokenCount);
        }
        foreach (int dp in new[] { 1, 2 })
            for (int rank = 0; rank < dp; rank++)
            {
                using var streamed = DataPipeline.CreateLoader(text, tokenizer, 128, 4, rank, dp);
                using var mapped = DataPipeline.CreateLoader(new DataSpec("x", bin), tokenizer, 128, 4, rank, dp);
                for (int i = 0; i < 30; i++) // 6 C4 documents are a few epochs of 30 x 4 x 129 tokens
                {
                    var a = streamed.Next();
                    var b = mapped.Next();
                    Assert.Equal(a.Inputs, b.Inputs);
                    Assert.Equal(a.Labels, b.Labels);
                }
                Assert.True(mapped.State.Epoch >= 1);
            }
    }

    [Fact]
    public void TokenFileResumesExactly()
    {
        using var dir = new TempDir();
        var bytes = new ByteTokenizer();
        string bin = Prepare(dir, SampleCorpus.Source(), bytes);
        var spec = new DataSpec("x", bin);
        using var straight = DataPipeline.CreateLoader(spec, bytes, 256, 2, 1, 4);
        var expected = Enumerable.Range(0, 8).Select(_ => straight.Next()).ToList();
        using var first = DataPipeline.CreateLoader(spec, bytes, 256, 2, 1, 4);
        for (int i = 0; i < 3; i++) first.Next();
        using var second = DataPipeline.CreateLoader(spec, bytes, 256, 2, 1, 4, resume: DataLoaderState.FromJson(first.State.ToJson()));
        for (int i = 3; i < 8; i++) Assert.Equal(expected[i].Inputs, second.Next().Inputs);
    }

    [Fact]
    public void TokenFileFromAnotherTokenizerIsRejected()
    {
        using var dir = new TempDir();
        string bin = Prepare(dir, SampleCorpus.Source(), new ByteTokenizer());
        var e = Assert.Throws<InvalidDataException>(() =>
            DataPipeline.CreateLoader(new DataSpec("x", bin), TokenizerLoader.Load(SharedData.TestTiktoken), 64, 1));
        Assert.Contains("another tokenizer", e.Message);
        File.WriteAllBytes(dir.File("trunc.bin"), File.ReadAllBytes(bin)[..100]);
        Assert.Throws<InvalidDataException>(() => TokenFile.Open(dir.File("trunc.bin")));
    }
}
