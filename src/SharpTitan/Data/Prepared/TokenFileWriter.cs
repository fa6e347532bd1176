using System.Buffers.Binary;

namespace SharpTitan.Data;

/// <summary>Writes a <see cref="TokenFile"/> and its index, one document at a time.</summary>
public sealed class TokenFileWriter : IDisposable
{
    private readonly FileStream _bin, _idx;
    private readonly ITokenizer _tokenizer;
    private readonly int _bytesPerToken;
    private readonly byte[] _buffer = new byte[1 << 16];

    public long TokenCount { get; private set; }
    public long DocumentCount { get; private set; }

    public TokenFileWriter(string binPath, ITokenizer tokenizer)
    {
        _tokenizer = tokenizer;
        _bytesPerToken = tokenizer.VocabSize <= 65536 ? 2 : 4;
        _bin = File.Create(binPath);
        _idx = File.Create(TokenFile.IndexPath(binPath));
        _bin.Write(new byte[TokenFile.HeaderBytes]);
        _idx.Write(System.Text.Encoding.ASCII.GetBytes(TokenFile.IndexMagic));
    }

    /// <summary>Appends [BOS] text [EOS] and the document's start offset.</summary>
    public void Add(string text)
    {
        Span<byte> offset = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(offset, TokenCount);
        _idx.Write(offset);
        DocumentCount++;
        WriteToken(_tokenizer.BosId);
        foreach (int id in _tokenizer.Encode(text)) WriteToken(id);
        WriteToken(_tokenizer.EosId);
    }

    private int _used;

    private void WriteToken(int id)
    {
        if (_used + 4 > _buffer.Length) Flush();
        if (_bytesPerToken == 2) BinaryPrimitives.WriteUInt16LittleEndian(_buffer.AsSpan(_used), (ushort)id);
        else BinaryPrimitives.WriteInt32LittleEndian(_buffer.AsSpan(_used), id);
        _used += _bytesPerToken;
        TokenCount++;
    }

    private void Flush()
    {
        _bin.Write(_buffer, 0, _used);
        _used = 0;
    }

    /// <summary>Writes the header (last, so a half-written file never looks valid) and closes both files.</summary>
    public void Dispose()
    {
        Flush();
        var header = new byte[TokenFile.HeaderBytes];
        System.Text.Encoding.ASCII.GetBytes(TokenFile.Magic).CopyTo(header, 0);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(8), _bytesPerToken);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(12), _tokenizer.VocabSize);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(16), _tokenizer.BosId);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(20), _tokenizer.EosId);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(24), TokenCount);
        _bin.Position = 0;
        _bin.Write(header);
        _bin.Dispose();
        _idx.Dispose();
    }
}
