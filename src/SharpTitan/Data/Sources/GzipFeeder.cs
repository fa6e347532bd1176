namespace SharpTitan.Data;

/// <summary>
/// The compressed bytes of a gzip file as VerifiedGzipStream needs them: header bytes to peek at, chunks for a
/// DeflateStream, and, when the deflate data ends, the last chunk kept so the trailer can be found inside it
/// (the inflater stops inside the last chunk it was given, and the bytes after its end are the trailer).
/// </summary>
internal sealed class GzipFeeder(Stream file) : ForwardOnlyReadStream
{
    private const int TrailerLength = 8;
    private const int MaxChunk = 1 << 14;
    private readonly byte[] _buf = new byte[1 << 17];
    private int _pos, _end;               // _buf[_pos.._end) not handed out yet
    private int _chunkStart = -1, _chunkEnd; // the last chunk handed to the inflater in this member
    private bool _fileEnded;

    internal enum TrailerMatch { Found, Cut, Mismatch }

    /// <summary>True when the inflater asked for more data and the file had none: the member is cut short.</summary>
    public bool SawEnd { get; private set; }

    public void BeginMember()
    {
        SawEnd = false;
        _chunkStart = -1;
    }

    /// <summary>Whether <paramref name="count"/> unread bytes are available (reading more of the file if needed).</summary>
    public bool Has(int count) => Ensure(count);

    public byte Peek(int index) => _buf[_pos + index];

    public void Skip(int count) => _pos += count;

    /// <summary>
    /// Looks for the expected trailer just after the deflate data: it starts inside the last chunk given to the
    /// inflater. Found: the feeder continues after it. Cut: the file ends with a prefix of it.
    /// </summary>
    public TrailerMatch FindTrailer(ReadOnlySpan<byte> trailer)
    {
        Ensure(TrailerLength);
        for (int p = _chunkStart + 1; p <= _chunkEnd; p++)
        {
            if (p + TrailerLength <= _end && _buf.AsSpan(p, TrailerLength).SequenceEqual(trailer))
            {
                _pos = p + TrailerLength;
                _chunkStart = -1;
                return TrailerMatch.Found;
            }
        }
        if (_fileEnded)
            for (int p = Math.Max(_chunkStart + 1, _end - TrailerLength + 1); p <= _chunkEnd && p < _end; p++)
                if (_buf.AsSpan(p, _end - p).SequenceEqual(trailer[..(_end - p)])) return TrailerMatch.Cut;
        return TrailerMatch.Mismatch;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (buffer.IsEmpty) return 0;
        if (_pos == _end)
        {
            _chunkStart = -1;
            if (!Ensure(1))
            {
                SawEnd = true;
                return 0;
            }
        }
        int n = Math.Min(buffer.Length, Math.Min(_end - _pos, MaxChunk));
        _buf.AsSpan(_pos, n).CopyTo(buffer);
        _chunkStart = _pos;
        _pos += n;
        _chunkEnd = _pos;
        return n;
    }

    /// <summary>Reads the file until <paramref name="count"/> bytes from _pos are buffered; false if it ends first.
    /// Bytes before _pos are dropped when room is needed, except the last chunk while its trailer may be unread.</summary>
    private bool Ensure(int count)
    {
        while (_end - _pos < count)
        {
            if (_fileEnded) return false;
            if (_buf.Length - _end < MaxChunk)
            {
                int keep = _chunkStart >= 0 ? Math.Min(_chunkStart, _pos) : _pos;
                Buffer.BlockCopy(_buf, keep, _buf, 0, _end - keep);
                _pos -= keep;
                _end -= keep;
                if (_chunkStart >= 0)
                {
                    _chunkStart -= keep;
                    _chunkEnd -= keep;
                }
            }
            int n = file.Read(_buf, _end, _buf.Length - _end);
            if (n == 0) _fileEnded = true;
            else _end += n;
        }
        return true;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) file.Dispose();
        base.Dispose(disposing);
    }
}
