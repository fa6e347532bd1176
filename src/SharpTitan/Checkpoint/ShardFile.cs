using SharpTitan.Distributed;
using SharpTitan.Metrics;
using System.Security.Cryptography;
using SharpTitan.Native;
using static TorchSharp.torch;

namespace SharpTitan.Checkpoint;

/// <summary>
/// A rank's shard file: the 8-byte magic "STSHARD1" then the raw little-endian bytes of its chunks, back to back.
/// What each byte range holds is recorded in the metadata, not in the file. Written with a running SHA-256 and
/// fsynced before the writer reports it.
/// </summary>
internal static class ShardFile
{
    public static readonly byte[] Magic = "STSHARD1"u8.ToArray();
    private const int Block = 16 << 20;

    /// <summary>Writes the pieces (contiguous CPU tensors, in order) to path; returns the file entry and chunks.</summary>
    public static (FileEntry File, List<RankChunk> Chunks) Write(string path, IReadOnlyList<(StatePiece Piece, Tensor Data)> pieces,
        ProgressBar? progress = null)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var chunks = new List<RankChunk>();
        using (var fs = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
        {
            fs.Write(Magic);
            hash.AppendData(Magic);
            long offset = Magic.Length;
            foreach (var (piece, data) in pieces)
            {
                long bytes = data.numel() * Dtypes.Size(data.dtype);
                WriteBytes(fs, hash, data, bytes, progress);
                chunks.Add(new RankChunk(piece.Name, Dtypes.Name(data.dtype), piece.GlobalShape, piece.Start, piece.Count, offset,
                    piece.Block?.Offset, piece.Block?.Shape));
                offset += bytes;
            }
            fs.Flush(flushToDisk: true);
        }
        progress?.Finish();
        return (new FileEntry(Path.GetFileName(path), new FileInfo(path).Length, Convert.ToHexStringLower(hash.GetHashAndReset())), chunks);
    }

    private static unsafe void WriteBytes(FileStream fs, IncrementalHash hash, Tensor data, long bytes, ProgressBar? progress)
    {
        if (!data.is_contiguous()) throw new ArgumentException("shard data must be contiguous");
        using var host = ComputeDevice.HostCopy(data); // files hold host bytes, whatever the device
        byte* p = (byte*)TensorMemory.DataPointer(host ?? data);
        for (long done = 0; done < bytes; done += Block)
        {
            var span = new ReadOnlySpan<byte>(p + done, (int)Math.Min(Block, bytes - done));
            hash.AppendData(span);
            fs.Write(span);
            progress?.Add(span.Length);
        }
    }

    /// <summary>Writes a small text file and fsyncs it; returns its entry.</summary>
    public static FileEntry WriteText(string path, string text) =>
        WriteBytes(path, System.Text.Encoding.UTF8.GetBytes(text), Path.GetFileName(path));

    /// <summary>Writes a small file and fsyncs it; returns its entry under <paramref name="name"/> (relative to the step folder).</summary>
    public static FileEntry WriteBytes(string path, byte[] bytes, string name)
    {
        using (var fs = new FileStream(path, FileMode.Create, FileAccess.Write))
        {
            fs.Write(bytes);
            fs.Flush(flushToDisk: true);
        }
        return new FileEntry(name, bytes.Length, Convert.ToHexStringLower(SHA256.HashData(bytes)));
    }

    /// <summary>Checks a small file against its entry (size and SHA-256); throws naming the file.</summary>
    public static void Verify(string path, FileEntry entry)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"checkpoint file {path} is missing");
        var bytes = File.ReadAllBytes(path);
        var actual = Convert.ToHexStringLower(SHA256.HashData(bytes));
        if (bytes.Length != entry.Bytes || actual != entry.Sha256)
            throw new InvalidDataException($"checkpoint file {path} fails its checksum ({bytes.Length} bytes, SHA-256 {actual[..12]}...; expected {entry.Bytes} bytes, {entry.Sha256[..12]}...): the file was altered or damaged");
    }

    /// <summary>Makes a rename inside the folder durable (fsync of the directory; a no-op where unsupported).</summary>
    public static void SyncDirectory(string folder)
    {
        try
        {
            using var handle = File.OpenHandle(folder, FileMode.Open, FileAccess.Read);
            RandomAccess.FlushToDisk(handle);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException) { }
    }
}
