using System.Text;

namespace SharpTitan.Data;

/// <summary>
/// UTF-8 decoding for one dataset file: each invalid byte sequence becomes U+FFFD (as Encoding.UTF8 does) and is
/// counted, so the reader can report the file's count once instead of replacing bytes silently.
/// </summary>
internal sealed class Utf8Decoding
{
    private long _invalid;

    public Utf8Decoding()
    {
        // The preamble (a UTF-8 byte order mark) is skipped by StreamReader; the fallback counts and replaces.
        var encoding = (Encoding)new UTF8Encoding(encoderShouldEmitUTF8Identifier: true).Clone();
        encoding.DecoderFallback = new CountingFallback(this);
        Encoding = encoding;
    }

    /// <summary>The encoding to read the file with (one instance per file read).</summary>
    public Encoding Encoding { get; }

    /// <summary>Invalid byte sequences replaced so far.</summary>
    public long InvalidSequences => Interlocked.Read(ref _invalid);

    /// <summary>A reader of the stream in this decoding (no byte-order-mark detection of other encodings).</summary>
    public StreamReader Reader(Stream stream) => new(stream, Encoding, detectEncodingFromByteOrderMarks: false, bufferSize: 1 << 16);

    private sealed class CountingFallback(Utf8Decoding owner) : DecoderFallback
    {
        public override int MaxCharCount => 1;
        public override DecoderFallbackBuffer CreateFallbackBuffer() => new Buffer(owner);
    }

    private sealed class Buffer(Utf8Decoding owner) : DecoderFallbackBuffer
    {
        private int _count, _index; // one U+FFFD per invalid sequence

        public override int Remaining => _count - _index;

        public override bool Fallback(byte[] bytesUnknown, int index)
        {
            Interlocked.Increment(ref owner._invalid);
            (_count, _index) = (1, 0);
            return true;
        }

        public override char GetNextChar()
        {
            if (_index == _count) return '\0';
            _index++;
            return '\uFFFD';
        }

        public override bool MovePrevious()
        {
            if (_index == 0) return false;
            _index--;
            return true;
        }

        public override void Reset() => (_count, _index) = (0, 0);
    }
}
