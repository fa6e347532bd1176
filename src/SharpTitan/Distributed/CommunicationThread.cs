using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;

namespace SharpTitan.Distributed;

/// <summary>
/// One dedicated thread that runs asynchronous collectives in issue order. MPI only progresses an operation
/// while some thread is inside an MPI call, so a background blocking collective (on its own communicator)
/// is what overlaps communication with computation on the caller's thread.
/// </summary>
internal sealed class CommunicationThread : IDisposable
{
    private readonly BlockingCollection<Work> _queue = new();
    private readonly Thread _thread;

    public CommunicationThread()
    {
        _thread = new Thread(Run) { IsBackground = true, Name = "sharptitan-comm" };
        _thread.Start();
    }

    public IWork Enqueue(Action operation)
    {
        var work = new Work(operation);
        _queue.Add(work);
        return work;
    }

    private void Run()
    {
        foreach (var work in _queue.GetConsumingEnumerable()) work.Execute();
    }

    /// <summary>Finishes the queued operations, then stops the thread.</summary>
    public void Dispose()
    {
        if (_queue.IsAddingCompleted) return;
        _queue.CompleteAdding();
        _thread.Join();
    }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification =
        "Handed out as IWork and waited on by any number of callers; the event allocates no kernel handle unless a wait blocks, and the GC reclaims it")]
    private sealed class Work(Action operation) : IWork
    {
        private readonly ManualResetEventSlim _done = new();
        private ExceptionDispatchInfo? _failure;

        public bool IsCompleted => _done.IsSet;

        public void Execute()
        {
            try { operation(); }
            catch (Exception e) { _failure = ExceptionDispatchInfo.Capture(e); }
            finally { _done.Set(); }
        }

        public void Wait()
        {
            _done.Wait();
            _failure?.Throw();
        }
    }
}

/// <summary>An operation that already finished (backends that run everything synchronously).</summary>
internal sealed class CompletedWork : IWork
{
    public static readonly CompletedWork Instance = new();
    public bool IsCompleted => true;
    public void Wait() { }
}
