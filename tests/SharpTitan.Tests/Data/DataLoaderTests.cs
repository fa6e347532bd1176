using SharpTitan.Data;

namespace SharpTitan.Tests.Data;

public class DataLoaderTests
{
    private const int SeqLen = 64;
    private static readonly ITokenizer Tiktoken = TokenizerLoader.Load(SharedData.TestTiktoken);
    private static DataSpec C4 => new("c4_test", SharedData.C4Sample);

    private static List<Batch> Take(DataLoader loader, int n) => Enumerable.Range(0, n).Select(_ => loader.Next()).ToList();

    private static void AssertSame(Batch expected, Batch actual)
    {
        Assert.Equal(expected.Rows, actual.Rows);
        Assert.Equal(expected.Inputs, actual.Inputs);
        Assert.Equal(expected.Labels, actual.Labels);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public void TenBatchesEqualFivePlusSaveRestorePlusFive(int dpDegree)
    {
        for (int rank = 0; rank < dpDegree; rank++)
        {
            using var straight = DataPipeline.CreateLoader(C4, Tiktoken, SeqLen, 3, rank, dpDegree);
            var expected = Take(straight, 10);

            string saved;
            List<Batch> actual;
            using (var first = DataPipeline.CreateLoader(C4, Tiktoken, SeqLen, 3, rank, dpDegree))
            {
                actual = Take(first, 5);
                saved = first.State.ToJson();
            }
            var state = DataLoaderState.FromJson(saved);
            Assert.Equal(5, state.Batches);
            using (var second = DataPipeline.CreateLoader(C4, Tiktoken, SeqLen, 3, rank, dpDegree, resume: state))
                actual.AddRange(Take(second, 5));
            for (int i = 0; i < 10; i++) AssertSame(expected[i], actual[i]);
        }
    }

    [Fact]
    public void ResumeIsExactAcrossEpochBoundaries()
    {
        using var dir = new TempDir();
        File.WriteAllLines(dir.File("tiny.jsonl"), ["""{"text": "a short one"}""", """{"text": "the second document, a bit longer than the first"}""", """{"url": "no text"}"""]);
        var spec = new DataSpec("x", dir.File("tiny.jsonl"));
        var bytes = new ByteTokenizer();
        using var straight = DataPipeline.CreateLoader(spec, bytes, 16, 2, prefetch: 0);
        var expected = Take(straight, 10);
        Assert.True(straight.State.Epoch >= 3);
        for (int cut = 1; cut < 10; cut++)
        {
            using var a = DataPipeline.CreateLoader(spec, bytes, 16, 2);
            var actual = Take(a, cut);
            using var b = DataPipeline.CreateLoader(spec, bytes, 16, 2, resume: DataLoaderState.FromJson(a.State.ToJson()));
            actual.AddRange(Take(b, 10 - cut));
            for (int i = 0; i < 10; i++) AssertSame(expected[i], actual[i]);
        }
    }

    [Fact]
    public void GlobalBatchIsTheSameWhateverTheDataParallelLayout()
    {
        using var one = DataPipeline.CreateLoader(C4, Tiktoken, SeqLen, 8);
        using var r0 = DataPipeline.CreateLoader(C4, Tiktoken, SeqLen, 4, 0, 2);
        using var r1 = DataPipeline.CreateLoader(C4, Tiktoken, SeqLen, 4, 1, 2);
        for (int step = 0; step < 6; step++)
        {
            var whole = one.Next();
            var a = r0.Next();
            var b = r1.Next();
            Assert.Equal(whole.Inputs, a.Inputs.Concat(b.Inputs));
            Assert.Equal(whole.Labels, a.Labels.Concat(b.Labels));
        }
    }

    [Fact]
    public void WindowsArePackedDocumentsWithBosEosAndShiftedLabels()
    {
        using var loader = DataPipeline.CreateLoader(C4, Tiktoken, SeqLen, 4, prefetch: 0);
        var batches = Take(loader, 3);
        var first = DatasetCatalog.Resolve("c4_test", SharedData.C4Sample).Documents().First();
        var expected = new[] { Tiktoken.BosId }.Concat(Tiktoken.Encode(first)).Take(SeqLen).Select(i => (long)i);
        Assert.Equal(expected, batches[0].Inputs.Take(SeqLen));
        foreach (var b in batches)
            for (int row = 0; row < b.Rows; row++)
                Assert.Equal(b.Inputs.Skip(row * SeqLen + 1).Take(SeqLen - 1), b.Labels.Skip(row * SeqLen).Take(SeqLen - 1));
        // consecutive windows of seq_len + 1 tokens: no token dropped between rows except the window's last label
        Assert.Equal(batches[0].Labels[SeqLen - 1], expected.Concat(Tiktoken.Encode(first).Skip(SeqLen - 1).Select(i => (long)i)).ElementAt(SeqLen));
        Assert.Contains(batches.SelectMany(b => b.Inputs), id => id == Tiktoken.EosId);
    }

    [Fact]
    public void BadLineFoundByTheBackgroundThreadSurfacesAsAOneLineError()
    {
        using var dir = new TempDir();
        var lines = Enumerable.Range(0, 50).Select(i => $$"""{"text": "document number {{i}} with some words"}""").ToList();
        lines[30] = "{not json";
        File.WriteAllLines(dir.File("d.jsonl"), lines);
        using var loader = DataPipeline.CreateLoader(new DataSpec("x", dir.File("d.jsonl")), new ByteTokenizer(), 32, 4);
        var e = Assert.Throws<InvalidDataException>(() => { for (int i = 0; i < 100; i++) loader.Next(); });
        Assert.StartsWith($"{dir.File("d.jsonl")}:31: malformed JSON", e.Message);
    }
}
