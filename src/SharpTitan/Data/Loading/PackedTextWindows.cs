namespace SharpTitan.Data;

/// <summary>
/// Documents tokenized as [BOS] text [EOS], concatenated, and cut into windows: the streaming source. When the
/// documents run out they repeat (logged once, with the epoch's document and skipped-record counts).
/// </summary>
internal sealed class PackedTextWindows : IWindowSource
{
    private readonly DocumentSource _source;
    private readonly ITokenizer _tokenizer;
    private readonly Action<string>? _log;
    private IEnumerator<(DocumentPosition Position, string Text)> _docs = Enumerable.Empty<(DocumentPosition, string)>().GetEnumerator();
    private int[] _doc = [];
    private int _offset, _epoch;
    private DocumentPosition _docPosition;
    private long _docsSinceWrap;
    private bool _coveredWholeEpoch;

    public PackedTextWindows(DocumentSource source, ITokenizer tokenizer, int windowLength, Action<string>? log = null)
    {
        _source = source;
        _tokenizer = tokenizer;
        _log = log;
        WindowLength = windowLength;
        source.Log ??= log;
        Restore(new DataLoaderState());
    }

    public int WindowLength { get; }

    public DataLoaderState State => new()
    {
        Epoch = _epoch, File = _docPosition.File, Record = _docPosition.Record, TokenOffset = _offset,
    };

    public void Restore(DataLoaderState state)
    {
        _docs.Dispose();
        _epoch = state.Epoch;
        _docs = _source.Read(new DocumentPosition(state.File, state.Record)).GetEnumerator();
        _coveredWholeEpoch = state.File == 0 && state.Record == 0;
        _docsSinceWrap = 0;
        NextDocument();
        if (state.TokenOffset > _doc.Length)
            throw new InvalidDataException($"data loader state: token offset {state.TokenOffset} is past the end of the document at file {state.File}, record {state.Record} ({_doc.Length} tokens): the dataset or tokenizer changed");
        _offset = state.TokenOffset;
    }

    public void Read(Span<int> window)
    {
        int filled = 0;
        while (filled < window.Length)
        {
            if (_offset == _doc.Length) NextDocument();
            int n = Math.Min(window.Length - filled, _doc.Length - _offset);
            _doc.AsSpan(_offset, n).CopyTo(window[filled..]);
            _offset += n;
            filled += n;
        }
    }

    public void Skip(long windows)
    {
        long left = windows * WindowLength;
        while (left > 0)
        {
            if (_offset == _doc.Length) NextDocument();
            int n = (int)Math.Min(left, _doc.Length - _offset);
            _offset += n;
            left -= n;
        }
    }

    public string Describe() => $"{_source.Name} ({_source.Files.Count} file(s)), streamed and tokenized on a background thread";

    private void NextDocument()
    {
        while (!_docs.MoveNext())
        {
            if (_docsSinceWrap == 0 && _coveredWholeEpoch)
                throw new InvalidDataException($"dataset {_source.Name} has no documents ({_source.SkippedRecords} record(s) without text)");
            if (_epoch == 0)
                _log?.Invoke($"dataset {_source.Name} exhausted after {_docsSinceWrap:N0} document(s), {_source.SkippedRecords:N0} record(s) without text skipped; starting over from its first document (logged once)");
            _epoch++;
            _docs.Dispose();
            _docs = _source.Read(default).GetEnumerator();
            _docsSinceWrap = 0;
            _coveredWholeEpoch = true;
        }
        _docsSinceWrap++;
        var (position, text) = _docs.Current;
        var ids = _tokenizer.Encode(text);
        var doc = new int[ids.Length + 2];
        doc[0] = _tokenizer.BosId;
        ids.CopyTo(doc, 1);
        doc[^1] = _tokenizer.EosId;
        _doc = doc;
        _docPosition = position;
        _offset = 0;
    }
}
