using System.IO.Compression;
using System.Text;
using SharpTitan.Data;

namespace SharpTitan.Tests.Data;

/// <summary>
/// Issue 15 item 4: a gzip dataset file cut short (even exactly at a line boundary) or with a wrong trailer is an
/// error naming the file, never a shorter dataset; concatenated members are read whole.
/// </summary>
public class GzipTrailerTests
{
    private static string Line(int i) => $$"""{"text": "document {{i}} {{new string((char)('a' + i % 26), i % 50)}}"}""";

    private static byte[] Member(IEnumerable<string> lines, Action<GZipStream, int>? afterLine = null)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Optimal, leaveOpen: true))
        {
            int n = 0;
            foreach (var line in lines)
            {
                gz.Write(Encoding.UTF8.GetBytes(line + "\n"));
                afterLine?.Invoke(gz, ++n);
            }
        }
        return ms.ToArray();
    }

    private static List<string> Documents(string path) => DatasetCatalog.Resolve("x", path).Documents().ToList();

    [Fact]
    public void AFileCutAtALineBoundaryIsATruncatedGzipError()
    {
        // Flushing after line 100 makes the first part of the file decompress to exactly lines 1-100: the cut a
        // plain GZipStream reads as a complete, shorter file.
        long cutAt = 0;
        byte[] whole = [];
        using (var ms = new MemoryStream())
        {
            using (var gz = new GZipStream(ms, CompressionLevel.Optimal, leaveOpen: true))
                for (int i = 0; i < 200; i++)
                {
                    gz.Write(Encoding.UTF8.GetBytes(Line(i) + "\n"));
                    if (i == 99)
                    {
                        gz.Flush();
                        cutAt = ms.Length;
                    }
                }
            whole = ms.ToArray();
        }
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("whole.json.gz"), whole);
        Assert.Equal(200, Documents(dir.File("whole.json.gz")).Count);

        string cut = dir.File("cut.json.gz");
        File.WriteAllBytes(cut, whole[..(int)cutAt]);
        using (var plain = new GZipStream(File.OpenRead(cut), CompressionMode.Decompress))
        using (var reader = new StreamReader(plain))
            Assert.Equal(100, reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries).Length); // what used to be read

        var e = Assert.Throws<InvalidDataException>(() => Documents(cut));
        Assert.StartsWith($"{cut}: truncated gzip", e.Message);
        Assert.DoesNotContain("malformed JSON", e.Message);
        Assert.DoesNotContain("\n", e.Message);
    }

    [Theory]
    [InlineData(0.5)]  // inside the compressed data
    [InlineData(-3.0)] // inside the 8-byte trailer
    [InlineData(-8.0)] // the whole trailer missing
    [InlineData(5.0)]  // inside the header
    public void AFileCutAnywhereIsATruncatedGzipError(double where)
    {
        var member = Member(Enumerable.Range(0, 2000).Select(Line));
        int keep = where is > 0 and < 1 ? (int)(member.Length * where) : where < 0 ? member.Length + (int)where : (int)where;
        using var dir = new TempDir();
        string path = dir.File("cut.jsonl.gz");
        File.WriteAllBytes(path, member[..keep]);
        var e = Assert.Throws<InvalidDataException>(() => Documents(path));
        Assert.StartsWith($"{path}: ", e.Message);
        Assert.Contains("truncated gzip", e.Message);
    }

    [Fact]
    public void AnEmptyFileIsATruncatedGzipError()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("empty.json.gz"), []);
        var e = Assert.Throws<InvalidDataException>(() => Documents(dir.File("empty.json.gz")));
        Assert.Contains("truncated gzip", e.Message);
    }

    [Theory]
    [InlineData(8)] // a CRC-32 byte
    [InlineData(2)] // a length byte
    public void AWrongTrailerIsAnError(int fromEnd)
    {
        var member = Member(Enumerable.Range(0, 50).Select(Line));
        member[^fromEnd] ^= 0x5A;
        using var dir = new TempDir();
        string path = dir.File("bad.json.gz");
        File.WriteAllBytes(path, member);
        var e = Assert.Throws<InvalidDataException>(() => Documents(path));
        Assert.StartsWith($"{path}: ", e.Message);
        Assert.Contains("gzip", e.Message);
    }

    [Fact]
    public void ConcatenatedMembersWithOptionalHeaderFieldsAreReadWhole()
    {
        var lines = Enumerable.Range(0, 3000).Select(Line).ToList();
        using var file = new MemoryStream();
        file.Write(WithHeaderFields(Member(lines.Take(1000))));
        file.Write(Member([]));                      // an empty member
        file.Write(Member(lines.Skip(1000).Take(1))); // a tiny one
        file.Write(Member(lines.Skip(1001)));
        using var dir = new TempDir();
        string path = dir.File("multi.json.gz");
        File.WriteAllBytes(path, file.ToArray());
        Assert.Equal(lines.Select((_, i) => $"document {i} {new string((char)('a' + i % 26), i % 50)}"), Documents(path));

        // cut exactly after the first member's trailer: a valid, shorter gzip file (nothing can tell); one byte more is not
        File.WriteAllBytes(path, file.ToArray()[..(WithHeaderFields(Member(lines.Take(1000))).Length + 1)]);
        Assert.Contains("truncated gzip", Assert.Throws<InvalidDataException>(() => Documents(path)).Message);
    }

    [Fact]
    public void BytesAfterTheLastMemberOrNonGzipDataAreErrors()
    {
        using var dir = new TempDir();
        string path = dir.File("garbage.json.gz");
        File.WriteAllBytes(path, [.. Member([Line(1)]), .. "trailing text\n"u8.ToArray()]);
        Assert.Contains("corrupt gzip", Assert.Throws<InvalidDataException>(() => Documents(path)).Message);
        File.WriteAllText(path, Line(1) + "\n");
        Assert.Contains("not gzip data", Assert.Throws<InvalidDataException>(() => Documents(path)).Message);
    }

    [Fact]
    public void LargeMultiMemberFilesDecompressExactlyWithAnyReadSize()
    {
        var random = new Random(15);
        var original = new byte[3_000_000];
        for (int i = 0; i < original.Length; i++) original[i] = (byte)(random.Next(4) == 0 ? random.Next(256) : 'a' + random.Next(6));
        using var file = new MemoryStream();
        foreach (var (start, length) in new[] { (0, 1_000_000), (1_000_000, 7), (1_000_007, 1_999_993) })
        {
            using var ms = new MemoryStream();
            using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true)) gz.Write(original.AsSpan(start, length));
            file.Write(ms.ToArray());
        }
        using var dir = new TempDir();
        string path = dir.File("big.gz");
        File.WriteAllBytes(path, file.ToArray());
        foreach (int readSize in new[] { 1 << 16, 4093, 7 })
        {
            using var gz = new VerifiedGzipStream(path);
            var output = new MemoryStream();
            var buffer = new byte[readSize];
            int n;
            while ((n = gz.Read(buffer)) > 0) output.Write(buffer, 0, n);
            Assert.True(original.AsSpan().SequenceEqual(output.ToArray()), $"read size {readSize}");
        }
        VerifiedGzipStream.Verify(path);
    }

    /// <summary>The member with FEXTRA, FNAME, FCOMMENT and FHCRC set in its header (their contents are skipped).</summary>
    private static byte[] WithHeaderFields(byte[] member)
    {
        var header = member[..10];
        header[3] = 4 | 8 | 16 | 2;
        return [.. header, 3, 0, 1, 2, 3, .. "name.json"u8.ToArray(), 0, .. "a comment"u8.ToArray(), 0, 0xAB, 0xCD, .. member[10..]];
    }
}
