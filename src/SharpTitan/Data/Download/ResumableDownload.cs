using SharpTitan.Metrics;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;

namespace SharpTitan.Data;

/// <summary>Why a download failed: a network or server problem, reported as one line.</summary>
internal sealed class DownloadException(string message) : Exception(message);

/// <summary>
/// Downloads one gzip file over HTTP(S) into DEST.part, resuming a previous partial download with a range request,
/// verifies the whole gzip stream, then renames it to DEST. A file already at DEST is verified and kept.
/// </summary>
internal sealed class ResumableDownload(HttpClient http, TextWriter? progress = null)
{
    /// <summary>Returns the bytes transferred by this call (0 when DEST was already complete).</summary>
    public async Task<long> FetchAsync(Uri url, string dest, CancellationToken cancel = default)
    {
        if (File.Exists(dest))
        {
            VerifyGzip(dest, url);
            return 0;
        }
        string part = dest + ".part";
        long have = File.Exists(part) ? new FileInfo(part).Length : 0;
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (have > 0) request.Headers.Range = new RangeHeaderValue(have, null);
        HttpResponseMessage response;
        try { response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel); }
        catch (HttpRequestException e) { throw new DownloadException($"cannot reach {url.Host} for {url} ({e.Message}); check the network, or set HF_ENDPOINT / --endpoint to a reachable mirror"); }
        catch (TaskCanceledException) when (!cancel.IsCancellationRequested) { throw new DownloadException($"{url}: timed out"); }
        using (response)
        {
            long transferred = 0;
            if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable && have > 0)
            {
                // the part file already holds the whole file
            }
            else if (!response.IsSuccessStatusCode)
                throw new DownloadException($"{url}: HTTP {(int)response.StatusCode} {response.ReasonPhrase}");
            else
            {
                bool append = response.StatusCode == HttpStatusCode.PartialContent;
                if (!append) have = 0; // the server ignored the range: start over
                long? total = response.Content.Headers.ContentLength is long n ? n + have : null;
                await using var body = await response.Content.ReadAsStreamAsync(cancel);
                await using var file = new FileStream(part, append ? FileMode.Append : FileMode.Create, FileAccess.Write);
                transferred = await CopyWithProgress(body, file, have, total, Path.GetFileName(dest), cancel);
            }
            VerifyGzip(part, url);
            File.Move(part, dest, overwrite: true);
            return transferred;
        }
    }

    private async Task<long> CopyWithProgress(Stream from, Stream to, long start, long? total, string name, CancellationToken cancel)
    {
        var buffer = new byte[1 << 16];
        var bar = new ProgressBar(progress, name, total, start);
        long copied = 0;
        try
        {
            int n;
            while ((n = await from.ReadAsync(buffer, cancel)) > 0)
            {
                await to.WriteAsync(buffer.AsMemory(0, n), cancel);
                copied += n;
                bar.Add(n);
            }
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            throw new DownloadException($"{name}: connection lost after {start + copied:N0} bytes ({e.Message}); run the same command again to resume");
        }
        bar.Finish();
        return copied;
    }

    /// <summary>Reads the whole gzip stream (every member, its trailer's CRC-32 and length checked); a bad file is deleted.</summary>
    public static void VerifyGzip(string path, Uri? url = null)
    {
        try { VerifiedGzipStream.Verify(path); }
        catch (InvalidDataException e)
        {
            File.Delete(path);
            throw new InvalidDataException($"downloaded file is not valid gzip: {e.Message}; deleted it, run again to download afresh{(url != null ? $" from {url}" : "")}");
        }
    }
}
