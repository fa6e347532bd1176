namespace SharpTitan.Data;

/// <summary>
/// Tokenizes documents as [BOS] text [EOS], concatenates them, and cuts windows of seq_len + 1 tokens (no padding).
/// Windows are numbered globally; micro-batch k of the whole job is windows [k*G, (k+1)*G) with
/// G = dpDegree x localBatch, and data-parallel rank r takes rows [r*L, (r+1)*L) of it. So what a step trains on
/// does not depend on the parallel layout. When the documents run out they repeat (logged once).
/// </summary>
public sealed class PackedBatchLoader
{
    private readonly ITokenizer _tokenizer;
    private readonly Func<IEnumerable<string>> _documents;
    private readonly int _seqLen, _localBatch, _dpRank, _dpDegree;
    private readonly Action<string>? _log;
    private IEnumerator<string> _docs;
    private readonly List<int> _buffer = new();
    private int _bufferStart;
    private long _documentsThisEpoch;
    public int Epoch { get; private set; }

    public PackedBatchLoader(ITokenizer tokenizer, Func<IEnumerable<string>> documents, int seqLen, int localBatch,
        int dpRank = 0, int dpDegree = 1, Action<string>? log = null)
    {
        if (dpRank < 0 || dpRank >= dpDegree) throw new ArgumentException($"dp rank {dpRank} outside [0, {dpDegree})");
        _tokenizer = tokenizer;
        _documents = documents;
        _seqLen = seqLen;
        _localBatch = localBatch;
        _dpRank = dpRank;
        _dpDegree = dpDegree;
        _log = log;
        _docs = documents().GetEnumerator();
    }

    public Batch Next()
    {
        int window = _seqLen + 1;
        var inputs = new long[_localBatch * _seqLen];
        var labels = new long[_localBatch * _seqLen];
        for (int g = 0; g < _dpDegree * _localBatch; g++)
        {
            Fill(window);
            int row = g - _dpRank * _localBatch;
            if (row >= 0 && row < _localBatch)
                for (int i = 0; i < _seqLen; i++)
                {
                    inputs[row * _seqLen + i] = _buffer[_bufferStart + i];
                    labels[row * _seqLen + i] = _buffer[_bufferStart + i + 1];
                }
            _bufferStart += window;
        }
        // Drop consumed tokens now and then so the buffer stays bounded.
        if (_bufferStart > 1 << 16) { _buffer.RemoveRange(0, _bufferStart); _bufferStart = 0; }
        return new Batch(inputs, labels, _localBatch, _seqLen);
    }

    private void Fill(int needed)
    {
        while (_buffer.Count - _bufferStart < needed)
        {
            if (!_docs.MoveNext())
            {
                if (_documentsThisEpoch == 0) throw new InvalidDataException("the dataset has no documents");
                Epoch++;
                _documentsThisEpoch = 0;
                if (Epoch == 1) _log?.Invoke("dataset exhausted; starting over from its first document (logged once)");
                _docs.Dispose();
                _docs = _documents().GetEnumerator();
                continue;
            }
            _documentsThisEpoch++;
            _buffer.Add(_tokenizer.BosId);
            _buffer.AddRange(_tokenizer.Encode(_docs.Current));
            _buffer.Add(_tokenizer.EosId);
        }
    }
}
