using SharpTitan.Data;

namespace SharpTitan.Tests.Data;

/// <summary>Issue 15 item 10: invalid UTF-8 in a text dataset is replaced, counted, and reported once per file.</summary>
public class InvalidUtf8Tests
{
    // Three invalid sequences: a lone 0xFF, a truncated two-byte sequence (0xC3 then '('), a stray continuation byte.
    private static readonly byte[] BadJsonLines =
        [.. """{"text": "a"""u8, 0xFF, .. """b"}"""u8, (byte)'\n',
         .. """{"text": "c"""u8, 0xC3, .. """(d"}"""u8, (byte)'\n',
         .. """{"text": "fine"}"""u8, (byte)'\n',
         .. """{"text": "e"""u8, 0x80, .. "\"}"u8, (byte)'\n'];

    [Fact]
    public void InvalidBytesInJsonLinesAreReplacedAndReportedOnceWithTheCount()
    {
        using var dir = new TempDir();
        string path = dir.File("bad.jsonl");
        File.WriteAllBytes(path, BadJsonLines);
        File.WriteAllText(dir.File("good.jsonl"), """{"text": "clean"}""" + "\n");
        var source = DatasetCatalog.Resolve("x", dir.Path);
        var log = new List<string>();
        source.Log = log.Add;

        Assert.Equal(["a\uFFFDb", "c\uFFFD(d", "fine", "e\uFFFD", "clean"], source.Documents());
        var line = Assert.Single(log);
        Assert.StartsWith($"{path}: 3 invalid UTF-8", line);

        Assert.Equal(5, source.Documents().Count()); // a second epoch: counted again, not logged again
        Assert.Single(log);
        Assert.Equal(6, source.InvalidUtf8Sequences);
    }

    [Fact]
    public void InvalidBytesInTextAndGzipFilesAreReportedToo()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("a.txt"), [.. "one "u8, 0xFE, 0xFE, .. " two"u8]);
        using (var gz = new System.IO.Compression.GZipStream(File.Create(dir.File("b.json.gz")), System.IO.Compression.CompressionLevel.Fastest))
            gz.Write(BadJsonLines);
        var source = DatasetCatalog.Resolve("x", dir.Path);
        var log = new List<string>();
        source.Log = log.Add;
        Assert.Equal(5, source.Documents().Count());
        Assert.Equal([$"{dir.File("a.txt")}: 2 invalid UTF-8", $"{dir.File("b.json.gz")}: 3 invalid UTF-8"], log.Select(l => l[..l.IndexOf(" byte", StringComparison.Ordinal)]));
    }

    [Fact]
    public void ValidTextIsNotReportedAndAByteOrderMarkIsSkipped()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("bom.txt"), [0xEF, 0xBB, 0xBF, .. "héllo ✓ 😀"u8]);
        var source = DatasetCatalog.Resolve("x", dir.File("bom.txt"));
        var log = new List<string>();
        source.Log = log.Add;
        Assert.Equal(["héllo ✓ 😀"], source.Documents());
        Assert.Empty(log);
        Assert.Equal(0, source.InvalidUtf8Sequences);
    }
}
