using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Text;
using SharpTitan.Cli.Commands;
using SharpTitan.Data;

namespace SharpTitan.Tests.Data;

/// <summary>Serves fixed bytes on 127.0.0.1 with HTTP range support, recording each request's Range header.</summary>
internal sealed class LocalFileServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Dictionary<string, byte[]> _files;
    private readonly Task _loop;
    public List<string?> Ranges { get; } = new();
    public string Endpoint { get; }

    public LocalFileServer(Dictionary<string, byte[]> files)
    {
        _files = files;
        Endpoint = $"http://127.0.0.1:{FreePort()}";
        _listener.Prefixes.Add(Endpoint + "/");
        _listener.Start();
        _loop = Task.Run(Serve);
    }

    public static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    private async Task Serve()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext ctx;
            try { ctx = await _listener.GetContextAsync(); } catch (Exception) { return; }
            var range = ctx.Request.Headers["Range"];
            lock (Ranges) Ranges.Add(range);
            var res = ctx.Response;
            if (!_files.TryGetValue(ctx.Request.Url!.AbsolutePath, out var data)) { res.StatusCode = 404; res.Close(); continue; }
            long start = 0;
            if (range != null && range.StartsWith("bytes=") && range.EndsWith('-')) start = long.Parse(range[6..^1]);
            if (start >= data.Length && start > 0) { res.StatusCode = 416; res.Close(); continue; }
            res.StatusCode = start > 0 ? 206 : 200;
            if (start > 0) res.Headers["Content-Range"] = $"bytes {start}-{data.Length - 1}/{data.Length}";
            res.ContentLength64 = data.Length - start;
            await res.OutputStream.WriteAsync(data.AsMemory((int)start));
            res.Close();
        }
    }

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        _loop.Wait(TimeSpan.FromSeconds(5));
    }
}

public class DownloadTests
{
    private static byte[] Gzip(string text)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest)) gz.Write(Encoding.UTF8.GetBytes(text));
        return ms.ToArray();
    }

    private static string ShardPath(string split, int shard) => "/datasets/allenai/c4/resolve/main/en/" + C4Shards.FileName(split, shard);

    [Fact]
    public void DownloadsShardsResumesWithARangeRequestAndVerifiesGzip()
    {
        var shard0 = Gzip(string.Concat(Enumerable.Range(0, 3000).Select(i => $$"""{"text": "doc {{i}}"}""" + "\n")));
        var shard1 = Gzip("""{"text": "another"}""" + "\n");
        using var server = new LocalFileServer(new() { [ShardPath("validation", 0)] = shard0, [ShardPath("validation", 1)] = shard1 });
        using var dir = new TempDir();
        string dest0 = Path.Combine(dir.Path, C4Shards.FileName("validation", 0));
        File.WriteAllBytes(dest0 + ".part", shard0[..(shard0.Length / 2)]); // an interrupted earlier download

        int rc = new DownloadCommand().Run(["c4", "--split", "validation", "--shards", "0-1", "--to", dir.Path, "--endpoint", server.Endpoint]);

        Assert.Equal(0, rc);
        Assert.Equal(shard0, File.ReadAllBytes(dest0));
        Assert.Equal(shard1, File.ReadAllBytes(Path.Combine(dir.Path, C4Shards.FileName("validation", 1))));
        Assert.Equal([$"bytes={shard0.Length / 2}-", null], server.Ranges);
        Assert.Equal(3001, DatasetCatalog.Resolve("c4", dir.Path).Documents().Count());

        // a second run finds both complete and requests nothing
        Assert.Equal(0, new DownloadCommand().Run(["c4", "--split", "validation", "--shards", "0-1", "--to", dir.Path, "--endpoint", server.Endpoint]));
        Assert.Equal(2, server.Ranges.Count);
    }

    [Fact]
    public async Task CorruptGzipIsRejectedAndDeleted()
    {
        var bad = Gzip("""{"text": "x"}""");
        bad[^5] ^= 0xFF; // break the CRC/length trailer
        using var server = new LocalFileServer(new() { [ShardPath("train", 7)] = bad });
        using var dir = new TempDir();
        using var http = new HttpClient();
        string dest = Path.Combine(dir.Path, "shard.json.gz");
        var e = await Assert.ThrowsAsync<InvalidDataException>(() =>
            new ResumableDownload(http).FetchAsync(C4Shards.Url(server.Endpoint, "train", 7), dest));
        Assert.Contains("not valid gzip", e.Message);
        Assert.False(File.Exists(dest));
        Assert.False(File.Exists(dest + ".part"));
    }

    [Fact]
    public async Task NoServerGivesAClearOneLineError()
    {
        using var dir = new TempDir();
        using var http = new HttpClient();
        string endpoint = $"http://127.0.0.1:{LocalFileServer.FreePort()}"; // nothing listens there
        var e = await Assert.ThrowsAsync<DownloadException>(() =>
            new ResumableDownload(http).FetchAsync(C4Shards.Url(endpoint, "train", 0), Path.Combine(dir.Path, "x.json.gz")));
        Assert.StartsWith("cannot reach 127.0.0.1", e.Message);
        Assert.DoesNotContain("\n", e.Message);
        Assert.Equal(1, new DownloadCommand().Run(["c4", "--shards", "0", "--to", dir.Path, "--endpoint", endpoint]));
    }

    [Fact]
    public void ShardRangesAreParsedAndChecked()
    {
        Assert.Equal([0, 1, 2, 3], C4Shards.ParseRange("0-3", "train"));
        Assert.Equal([1, 5, 6], C4Shards.ParseRange("1,5-6", "train"));
        Assert.Equal("c4-train.00003-of-01024.json.gz", C4Shards.FileName("train", 3));
        Assert.Throws<ArgumentException>(() => C4Shards.ParseRange("0-8", "validation"));
        Assert.Throws<UsageException>(() => new DownloadCommand().Run(["c4", "--shards", "x"]));
    }
}
