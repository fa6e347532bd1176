using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;

namespace SharpTitan.Data;

/// <summary>
/// A pre-tokenized dataset (`sharptitan prepare-data`): NAME.bin holds a 64-byte header then every token of the
/// dataset's [BOS] text [EOS] stream (uint16 when the vocabulary fits, else int32), memory-mapped so a rank reads
/// only its rows; NAME.idx holds each document's start offset (int64), as Megatron's and nanoGPT's files do.
/// </summary>
public sealed class TokenFile : IDisposable
{
    public const string Magic = "STTOKEN1", IndexMagic = "STTOKIX1";
    public const int HeaderBytes = 64;

    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;

    public string Path { get; }
    public int BytesPerToken { get; }
    public int VocabSize { get; }
    public int BosId { get; }
    public int EosId { get; }
    public long TokenCount { get; }

    private TokenFile(string path)
    {
        Path = path;
        var header = new byte[HeaderBytes];
        using (var f = File.OpenRead(path))
            if (f.ReadAtLeast(header, HeaderBytes, throwOnEndOfStream: false) < HeaderBytes || !HasMagic(header))
                throw new InvalidDataException($"{path}: not a SharpTitan token file (run `sharptitan prepare-data`)");
        BytesPerToken = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(8));
        VocabSize = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(12));
        BosId = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(16));
        EosId = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(20));
        TokenCount = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(24));
        long expected = HeaderBytes + TokenCount * BytesPerToken;
        if (BytesPerToken is not (2 or 4) || TokenCount <= 0 || new FileInfo(path).Length != expected)
            throw new InvalidDataException($"{path}: corrupt token file (header says {TokenCount} tokens of {BytesPerToken} bytes; file is {new FileInfo(path).Length} bytes)");
        _map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        _view = _map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
    }

    public static TokenFile Open(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"token file not found: {path}");
        return new TokenFile(path);
    }

    public static bool IsTokenFile(string path)
    {
        if (!File.Exists(path)) return false;
        var header = new byte[8];
        using var f = File.OpenRead(path);
        return f.ReadAtLeast(header, 8, throwOnEndOfStream: false) == 8 && HasMagic(header);
    }

    public static string IndexPath(string binPath) => System.IO.Path.ChangeExtension(binPath, ".idx");

    /// <summary>Copies tokens [start, start + dest.Length) into dest (no wrap-around).</summary>
    public void Read(long start, Span<int> dest)
    {
        if (BytesPerToken == 4)
        {
            var tmp = new int[dest.Length];
            _view.ReadArray(HeaderBytes + start * 4, tmp, 0, dest.Length);
            tmp.CopyTo(dest);
        }
        else
        {
            var tmp = new ushort[dest.Length];
            _view.ReadArray(HeaderBytes + start * 2, tmp, 0, dest.Length);
            for (int i = 0; i < dest.Length; i++) dest[i] = tmp[i];
        }
    }

    /// <summary>The documents' start offsets from NAME.idx.</summary>
    public long[] ReadIndex()
    {
        string idx = IndexPath(Path);
        if (!File.Exists(idx)) throw new FileNotFoundException($"token index not found: {idx}");
        var bytes = File.ReadAllBytes(idx);
        if (bytes.Length < 8 || System.Text.Encoding.ASCII.GetString(bytes, 0, 8) != IndexMagic || (bytes.Length - 8) % 8 != 0)
            throw new InvalidDataException($"{idx}: not a SharpTitan token index");
        var offsets = new long[(bytes.Length - 8) / 8];
        for (int i = 0; i < offsets.Length; i++) offsets[i] = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(8 + 8 * i));
        return offsets;
    }

    private static bool HasMagic(byte[] header) => System.Text.Encoding.ASCII.GetString(header, 0, 8) == Magic;

    public void Dispose()
    {
        _view.Dispose();
        _map.Dispose();
    }
}
