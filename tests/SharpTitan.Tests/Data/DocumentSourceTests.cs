using Parquet;
using Parquet.Schema;
using SharpTitan.Data;

namespace SharpTitan.Tests.Data;

public class DocumentSourceTests
{
    private static List<string> Docs(DocumentSource s) => s.Documents().ToList();

    [Fact]
    public void JsonLinesUseTheConfiguredFieldAndSkipAndCountRecordsWithoutIt()
    {
        using var dir = new TempDir();
        File.WriteAllLines(dir.File("a.jsonl"), ["""{"content": "one"}""", """{"other": 1}""", "", """{"content": "two", "x": [1]}"""]);
        var source = DatasetCatalog.Resolve("x", dir.File("a.jsonl"), options: new TextOptions("content"));
        Assert.Equal(["one", "two"], Docs(source));
        Assert.Equal(2, source.SkippedRecords);
        Assert.Equal([new DocumentPosition(0, 0), new DocumentPosition(0, 3)], source.Read(default).Select(d => d.Position));
        Assert.Equal(["two"], source.Read(new DocumentPosition(0, 2)).Select(d => d.Text));
    }

    [Fact]
    public void GzipJsonLinesReadLikeThePlainFile()
    {
        var plain = Docs(DatasetCatalog.Resolve("c4_test", SharedData.C4Sample));
        var gz = Docs(DatasetCatalog.Resolve("c4_test", SharedData.C4SampleGz));
        Assert.Equal(1000, plain.Count);
        Assert.Equal(plain, gz);
    }

    [Fact]
    public async Task ParquetTextColumnIsRead()
    {
        using var dir = new TempDir();
        string path = dir.File("d.parquet");
        var text = new DataField<string>("text");
        var schema = new ParquetSchema(text, new DataField<int>("id"));
        await using (var stream = File.Create(path))
        await using (var writer = await ParquetWriter.CreateAsync(schema, stream))
            foreach (var rows in new[] { new[] { "alpha", null, "gamma" }, new[] { "delta" } })
            {
                using var group = writer.CreateRowGroup();
                await group.WriteAsync(text, rows!, null);
                await group.WriteAsync<int>(schema.DataFields[1], Enumerable.Range(0, rows.Length).ToArray().AsMemory(), null);
            }
        var source = DatasetCatalog.Resolve("x", path);
        Assert.Equal(["alpha", "gamma", "delta"], Docs(source));
        Assert.Equal(1, source.SkippedRecords);
        Assert.Equal(["delta"], source.Read(new DocumentPosition(0, 3)).Select(d => d.Text));
        var e = Assert.Throws<InvalidDataException>(() => Docs(DatasetCatalog.Resolve("x", path, options: new TextOptions("body"))));
        Assert.Contains(path, e.Message);
        Assert.Contains("body", e.Message);
    }

    [Fact]
    public void TextFilesAreOneDocumentOrOnePerBlankLineBlock()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("b.txt"), "first para\nline two\n\n\nsecond\r\n\r\nthird\n");
        Assert.Equal(["first para\nline two\n\n\nsecond\r\n\r\nthird\n"], Docs(DatasetCatalog.Resolve("x", dir.File("b.txt"))));
        var blocks = DatasetCatalog.Resolve("x", dir.File("b.txt"), options: new TextOptions(SplitTxtOnBlankLines: true));
        Assert.Equal(["first para\nline two", "second", "third"], Docs(blocks));
        Assert.Equal(["third"], blocks.Read(new DocumentPosition(0, 2)).Select(d => d.Text));
    }

    [Fact]
    public void DirectoriesAndGlobsListSupportedFilesInOrder()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("sub"));
        File.WriteAllText(dir.File("b.txt"), "B");
        File.WriteAllText(dir.File("a.jsonl"), """{"text": "A"}""");
        File.WriteAllText(dir.File("sub/c.txt"), "C");
        File.WriteAllText(dir.File("notes.md"), "ignored");
        Assert.Equal(["A", "B", "C"], Docs(DatasetCatalog.Resolve("x", dir.Path)));
        Assert.Equal(["B", "C"], Docs(DatasetCatalog.Resolve("x", Path.Combine(dir.Path, "**/*.txt"))));
        Assert.Equal(["B"], Docs(DatasetCatalog.Resolve("x", Path.Combine(dir.Path, "?.txt"))));
        var e = Assert.Throws<InvalidDataException>(() => DatasetCatalog.Resolve("x", Path.Combine(dir.Path, "*.parquet")));
        Assert.Contains("*.parquet", e.Message);
    }

    [Fact]
    public void BadDataErrorsNameTheFileLineOrPath()
    {
        using var dir = new TempDir();
        File.WriteAllLines(dir.File("bad.jsonl"), ["""{"text": "ok"}""", """{"text": "unterminated"""]);
        var e = Assert.Throws<InvalidDataException>(() => Docs(DatasetCatalog.Resolve("x", dir.File("bad.jsonl"))));
        Assert.StartsWith($"{dir.File("bad.jsonl")}:2: malformed JSON", e.Message);
        Assert.DoesNotContain("\n", e.Message);

        var missing = Assert.Throws<FileNotFoundException>(() => DatasetCatalog.Resolve("x", dir.File("nope.jsonl")));
        Assert.Contains("training.dataset_path", missing.Message);
        Assert.Contains(dir.File("nope.jsonl"), missing.Message);

        var c4 = Assert.Throws<FileNotFoundException>(() => DatasetCatalog.Resolve("c4", null));
        Assert.Contains("sharptitan download c4", c4.Message);
        var unknown = Assert.Throws<FileNotFoundException>(() => DatasetCatalog.Resolve("wikitext", null, "validation"));
        Assert.Contains("validation.dataset = \"wikitext\"", unknown.Message);
    }

    [Fact]
    public void EmptyDatasetIsAnErrorWhenTheLoaderOpensIt()
    {
        using var dir = new TempDir();
        File.WriteAllLines(dir.File("empty.jsonl"), ["""{"url": "a"}""", """{"url": "b"}"""]);
        var e = Assert.Throws<InvalidDataException>(() => DataPipeline.CreateLoader(new DataSpec("x", dir.File("empty.jsonl")), new ByteTokenizer(), 16, 2));
        Assert.Contains("has no documents", e.Message);
        Assert.Contains("2 record(s) without text", e.Message);
    }
}
