using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using SharpTitan.Data;

namespace SharpTitan.Benchmarks;

/// <summary>
/// Reading the C4 gzip sample before and after the trailer check (issue 15), in one process and interleaved so both
/// see the same machine: raw decompression (GZipStream vs VerifiedGzipStream) and whole documents (the former
/// reader, GZipStream + StreamReader + a JSON parse per line, vs DocumentSource). Best of several passes after warm-up.
/// </summary>
public static class GzipReadBench
{
    public static string Run(string gzPath, int passes = 20, int warmups = 10)
    {
        double mb = 0, textMb = 0;
        var cases = new (string Name, Func<double> Pass)[]
        {
            ("decompress: GZipStream (no trailer check, before)", () => mb = Drain(new GZipStream(File.OpenRead(gzPath), CompressionMode.Decompress))),
            ("decompress: VerifiedGzipStream (CRC-32 and length checked, now)", () => mb = Drain(new VerifiedGzipStream(gzPath))),
            ("documents: GZipStream + StreamReader + JSON (before)", () => textMb = FormerDocuments(gzPath)),
            ("documents: DocumentSource (verified gzip, counted UTF-8, now)", () => textMb = Documents(gzPath)),
        };
        var best = new double[cases.Length];
        Array.Fill(best, double.MaxValue);
        for (int pass = -warmups; pass < passes; pass++) // warm-up passes let the JIT reach its optimized code
            for (int c = 0; c < cases.Length; c++)
            {
                var sw = Stopwatch.StartNew();
                cases[c].Pass();
                if (pass >= 0) best[c] = Math.Min(best[c], sw.Elapsed.TotalSeconds);
            }
        var report = new StringBuilder();
        report.AppendLine($"| reading {Path.GetFileName(gzPath)} (1 thread, best of {passes}) | MB/s of output |\n|---|---:|");
        for (int c = 0; c < cases.Length; c++)
        {
            double rate = (c < 2 ? mb : textMb) / best[c];
            report.AppendLine($"| {cases[c].Name} | {rate:F1} |");
            Console.WriteLine($"{cases[c].Name}: {rate:F1} MB/s");
        }
        return report.ToString();
    }

    private static double Drain(Stream stream)
    {
        using (stream)
        {
            var buffer = new byte[1 << 16];
            long total = 0;
            int n;
            while ((n = stream.Read(buffer)) > 0) total += n;
            return total / 1e6;
        }
    }

    private static double FormerDocuments(string gzPath)
    {
        long bytes = 0;
        using var reader = new StreamReader(new GZipStream(File.OpenRead(gzPath), CompressionMode.Decompress));
        while (reader.ReadLine() is { } line)
        {
            using var doc = JsonDocument.Parse(line);
            bytes += Encoding.UTF8.GetByteCount(doc.RootElement.GetProperty("text").GetString()!);
        }
        return bytes / 1e6;
    }

    private static double Documents(string gzPath) =>
        DatasetCatalog.Resolve("x", gzPath).Documents().Sum(d => (long)Encoding.UTF8.GetByteCount(d)) / 1e6;
}
