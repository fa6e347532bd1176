using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;

namespace SharpTitan.Data;

/// <summary>
/// Decompresses a gzip file, every concatenated member, and checks what .NET's GZipStream does not: that each
/// member ends with its 8-byte trailer and that the trailer's CRC-32 and length (mod 2^32) match the data. A file
/// cut short (even at a line boundary) or with a wrong trailer throws InvalidDataException naming the file
/// ("truncated gzip" or "corrupt gzip") instead of ending early. Each member's deflate data is inflated by its own
/// DeflateStream; the trailer is found after the data because it must match the CRC and length just computed.
/// </summary>
internal sealed class VerifiedGzipStream : ForwardOnlyReadStream
{
    private const int TrailerLength = 8;
    private readonly string _path;
    private readonly GzipFeeder _feeder;
    private readonly Crc32 _crc = new();
    private DeflateStream? _member;
    private long _memberLength;
    private int _members;
    private bool _done;

    public VerifiedGzipStream(string path)
    {
        _path = path;
        _feeder = new GzipFeeder(File.OpenRead(path));
    }

    /// <summary>Reads the whole file, checking every member; throws InvalidDataException naming the file if it is bad.</summary>
    public static void Verify(string path)
    {
        using var gz = new VerifiedGzipStream(path);
        gz.CopyTo(Stream.Null, 1 << 16);
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (buffer.IsEmpty) return 0;
        while (!_done)
        {
            if (_member == null && !StartMember()) break;
            int n;
            try { n = _member!.Read(buffer); }
            catch (InvalidDataException e) { throw Corrupt($"bad deflate data in member {_members} ({e.Message})"); }
            if (n > 0)
            {
                _crc.Append(buffer[..n]);
                _memberLength += n;
                return n;
            }
            FinishMember();
        }
        return 0;
    }

    /// <summary>Parses the next member's header; false at the end of the file after at least one member.</summary>
    private bool StartMember()
    {
        if (!_feeder.Has(1))
        {
            if (_members == 0) throw Truncated("the file is empty");
            _done = true;
            return false;
        }
        bool magic = _feeder.Peek(0) == 0x1f && (!_feeder.Has(2) || _feeder.Peek(1) == 0x8b);
        if (!magic) throw Corrupt(_members == 0 ? "not gzip data (no gzip magic bytes)" : $"unexpected bytes after member {_members} (not a gzip member)");
        if (!_feeder.Has(10)) throw Truncated($"the file ends inside member {_members + 1}'s header");
        if (_feeder.Peek(2) != 8) throw Corrupt($"member {_members + 1} uses compression method {_feeder.Peek(2)}, not deflate");
        int flags = _feeder.Peek(3);
        _feeder.Skip(10);
        if ((flags & 4) != 0) // FEXTRA: 2-byte length, then that many bytes
        {
            if (!_feeder.Has(2)) throw Truncated($"the file ends inside member {_members + 1}'s header");
            int extra = _feeder.Peek(0) | (_feeder.Peek(1) << 8);
            _feeder.Skip(2);
            SkipHeaderBytes(extra);
        }
        if ((flags & 8) != 0) SkipZeroTerminated();  // FNAME
        if ((flags & 16) != 0) SkipZeroTerminated(); // FCOMMENT
        if ((flags & 2) != 0) SkipHeaderBytes(2);    // FHCRC
        _members++;
        _crc.Reset();
        _memberLength = 0;
        _feeder.BeginMember();
        _member = new DeflateStream(_feeder, CompressionMode.Decompress, leaveOpen: true);
        return true;
    }

    private void SkipHeaderBytes(int count)
    {
        for (int i = 0; i < count; i++)
        {
            if (!_feeder.Has(1)) throw Truncated($"the file ends inside member {_members + 1}'s header");
            _feeder.Skip(1);
        }
    }

    private void SkipZeroTerminated()
    {
        while (true)
        {
            if (!_feeder.Has(1)) throw Truncated($"the file ends inside member {_members + 1}'s header");
            byte b = _feeder.Peek(0);
            _feeder.Skip(1);
            if (b == 0) return;
        }
    }

    /// <summary>The member's deflate data ended: find and check its trailer, and position the feeder after it.</summary>
    private void FinishMember()
    {
        _member!.Dispose();
        _member = null;
        if (_feeder.SawEnd) throw Truncated($"the file ends inside member {_members}'s compressed data, after {_memberLength:N0} bytes of output");
        Span<byte> trailer = stackalloc byte[TrailerLength];
        BinaryPrimitives.WriteUInt32LittleEndian(trailer, _crc.GetCurrentHashAsUInt32());
        BinaryPrimitives.WriteUInt32LittleEndian(trailer[4..], unchecked((uint)_memberLength));
        switch (_feeder.FindTrailer(trailer))
        {
            case GzipFeeder.TrailerMatch.Found: return;
            case GzipFeeder.TrailerMatch.Cut: throw Truncated($"the file ends inside member {_members}'s 8-byte trailer");
            default:
                throw new InvalidDataException($"{_path}: corrupt or truncated gzip: member {_members}'s 8-byte trailer is missing or does not " +
                    $"match its data (CRC-32 {_crc.GetCurrentHashAsUInt32():x8}, length {unchecked((uint)_memberLength)} expected)");
        }
    }

    private InvalidDataException Truncated(string detail) =>
        new($"{_path}: truncated gzip: {detail}; the file is incomplete");

    private InvalidDataException Corrupt(string detail) => new($"{_path}: corrupt gzip: {detail}");

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _member?.Dispose();
            _feeder.Dispose();
        }
        base.Dispose(disposing);
    }
}
