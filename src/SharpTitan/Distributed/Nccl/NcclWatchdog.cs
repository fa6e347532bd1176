using System.Diagnostics;
using SharpTitan.Native;

namespace SharpTitan.Distributed.Nccl;

/// <summary>
/// The NCCL groups' watchdog: NCCL calls return as soon as they are queued, so a stuck peer shows only on the
/// device. Each queued collective records a CUDA event; a background thread polls the oldest unfinished one of each
/// group, and past the MPI runtime's current timeout (comm.init_timeout_seconds / comm.train_timeout_seconds) it
/// aborts every communicator (ncclCommAbort, which also frees the streams blocked in NCCL kernels) and ends the job
/// with the operation's name through the MPI watchdog. Without MPI (one process) nothing can hang on a peer.
/// </summary>
internal sealed class NcclWatchdog : IDisposable
{
    private sealed record Pending(NcclProcessGroup Group, string Operation, nint Event, long Start);

    private readonly object _gate = new();
    private readonly Queue<Pending> _pending = new();
    private readonly HashSet<NcclProcessGroup> _groups = [];
    private readonly Thread? _thread;
    private readonly CancellationTokenSource _stop = new();

    public NcclWatchdog()
    {
        if (DistributedRuntime.Watchdog == null) return;
        _thread = new Thread(Run) { IsBackground = true, Name = "sharptitan-nccl-watchdog" };
        _thread.Start();
    }

    public void Add(NcclProcessGroup group) { lock (_gate) _groups.Add(group); }
    public void Remove(NcclProcessGroup group) { lock (_gate) _groups.Remove(group); }

    public void Watch(NcclProcessGroup group, string operation, nint stream)
    {
        if (_thread == null) return;
        var evt = CudaNative.EventCreate();
        CudaNative.EventRecord(evt, stream);
        lock (_gate) _pending.Enqueue(new Pending(group, operation, evt, Stopwatch.GetTimestamp()));
    }

    private void Run()
    {
        while (!_stop.Token.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(100)))
        {
            var mpi = DistributedRuntime.Watchdog;
            if (mpi == null) return;
            while (true)
            {
                Pending? oldest;
                lock (_gate) oldest = _pending.Count > 0 ? _pending.Peek() : null;
                if (oldest == null) break;
                if (CudaNative.EventDone(oldest.Event))
                {
                    lock (_gate) _pending.Dequeue();
                    CudaNative.EventDestroy(oldest.Event);
                    continue;
                }
                if (Stopwatch.GetElapsedTime(oldest.Start) > mpi.CurrentTimeout)
                {
                    NcclProcessGroup[] groups;
                    lock (_gate) groups = [.. _groups];
                    foreach (var g in groups) g.Abort();
                    mpi.Abort($"NCCL collective {oldest.Operation} on group '{oldest.Group.Name}' ({oldest.Group.Size} ranks) did not finish");
                    return;
                }
                break;
            }
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _thread?.Join();
        _stop.Dispose();
    }
}
