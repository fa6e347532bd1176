using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;

namespace SharpTitan.Data;

/// <summary>
/// Hands out micro-batches from a window source, prepared ahead on a background thread with a bounded queue.
/// Windows are numbered globally: micro-batch k of the job is windows [k x G, (k+1) x G) with G = dpDegree x
/// localBatch, and dp rank r takes rows [r x L, (r+1) x L). So what a step trains on does not depend on the
/// parallel layout. <see cref="State"/> is the position after the last batch <see cref="Next"/> returned (not what
/// the thread has prefetched), so saving it and starting a new loader from it continues exactly.
/// </summary>
public sealed class DataLoader : IDisposable
{
    private readonly IWindowSource _source;
    private readonly int _seqLen, _localBatch, _dpRank, _dpDegree;
    private readonly BlockingCollection<(Batch Batch, DataLoaderState State)> _queue;
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread? _thread;
    private ExceptionDispatchInfo? _failure;
    private long _batches;

    /// <param name="prefetch">Batches prepared ahead; 0 prepares each batch inside <see cref="Next"/> (no thread).</param>
    public DataLoader(IWindowSource source, int seqLen, int localBatch, int dpRank = 0, int dpDegree = 1,
        DataLoaderState? resume = null, int prefetch = 4)
    {
        if (dpDegree < 1 || dpRank < 0 || dpRank >= dpDegree) throw new ArgumentException($"dp rank {dpRank} outside [0, {dpDegree})");
        if (source.WindowLength != seqLen + 1) throw new ArgumentException($"window length {source.WindowLength} != seq_len + 1 ({seqLen + 1})");
        _source = source;
        _seqLen = seqLen;
        _localBatch = localBatch;
        _dpRank = dpRank;
        _dpDegree = dpDegree;
        if (resume != null) source.Restore(resume);
        _batches = resume?.Batches ?? 0;
        State = source.State with { Batches = _batches };
        _queue = new BlockingCollection<(Batch, DataLoaderState)>(Math.Max(1, prefetch));
        if (prefetch > 0)
        {
            _thread = new Thread(Produce) { IsBackground = true, Name = "sharptitan-data-loader" };
            _thread.Start();
        }
    }

    /// <summary>The loader's position after the last batch returned by <see cref="Next"/>.</summary>
    public DataLoaderState State { get; private set; }

    public Batch Next()
    {
        (Batch Batch, DataLoaderState State) item;
        if (_thread == null) item = Prepare();
        else if (!_queue.TryTake(out item, Timeout.Infinite))
        {
            _failure?.Throw();
            throw new ObjectDisposedException(nameof(DataLoader));
        }
        State = item.State;
        return item.Batch;
    }

    private void Produce()
    {
        try
        {
            while (!_stop.IsCancellationRequested) _queue.Add(Prepare(), _stop.Token);
        }
        catch (OperationCanceledException) { }
        catch (Exception e) { _failure = ExceptionDispatchInfo.Capture(e); }
        finally { _queue.CompleteAdding(); }
    }

    /// <summary>Reads one global micro-batch, keeping this rank's rows.</summary>
    private (Batch, DataLoaderState) Prepare()
    {
        var inputs = new long[_localBatch * _seqLen];
        var labels = new long[_localBatch * _seqLen];
        var window = new int[_seqLen + 1];
        _source.Skip((long)_dpRank * _localBatch);
        for (int row = 0; row < _localBatch; row++)
        {
            _source.Read(window);
            int o = row * _seqLen;
            for (int i = 0; i < _seqLen; i++)
            {
                inputs[o + i] = window[i];
                labels[o + i] = window[i + 1];
            }
        }
        _source.Skip((long)(_dpDegree - _dpRank - 1) * _localBatch);
        _batches++;
        return (new Batch(inputs, labels, _localBatch, _seqLen), _source.State with { Batches = _batches });
    }

    public void Dispose()
    {
        _stop.Cancel();
        _thread?.Join();
        _queue.Dispose();
        (_source as IDisposable)?.Dispose();
        _stop.Dispose();
    }
}
