using System.Diagnostics;

namespace SharpTitan.Distributed;

/// <summary>
/// Ends the job when a collective runs longer than its timeout: a stuck peer otherwise leaves every other rank
/// blocked forever. Until <see cref="BeginTraining"/> the (longer) <see cref="InitTimeout"/> applies, as the
/// first collectives wait for every rank to load and build; after it, <see cref="TrainTimeout"/>.
/// Each thread that runs collectives owns one slot; the watchdog thread scans the slots.
/// </summary>
internal sealed class CollectiveWatchdog : IDisposable
{
    internal sealed class Slot
    {
        public volatile string? Operation;
        public volatile string? Group;
        /// <summary>For a wait outside a collective: what is being waited for (called when the timeout passes).</summary>
        public volatile Func<string>? Explain;
        public long StartTimestamp;
    }

    private readonly int _rank;
    private readonly Action<string> _abort;
    private readonly List<Slot> _slots = [];
    private readonly ThreadLocal<Slot> _threadSlot;
    private readonly Thread _thread;
    private readonly CancellationTokenSource _stop = new();
    private volatile bool _training;

    /// <summary>Timeout of collectives before <see cref="BeginTraining"/> (comm.init_timeout_seconds; torchtitan: 300 s).</summary>
    public TimeSpan InitTimeout { get; set; } = TimeSpan.FromSeconds(300);

    /// <summary>Timeout of collectives after <see cref="BeginTraining"/> (comm.train_timeout_seconds; torchtitan: 100 s).</summary>
    public TimeSpan TrainTimeout { get; set; } = TimeSpan.FromSeconds(100);

    public TimeSpan CurrentTimeout => _training ? TrainTimeout : InitTimeout;

    /// <param name="rank">World rank, for the message.</param>
    /// <param name="abort">Ends the whole job with the message (MPI_Abort); must not return.</param>
    internal CollectiveWatchdog(int rank, Action<string> abort)
    {
        _rank = rank;
        _abort = abort;
        _threadSlot = new ThreadLocal<Slot>(() =>
        {
            var slot = new Slot();
            lock (_slots) _slots.Add(slot);
            return slot;
        });
        _thread = new Thread(Run) { IsBackground = true, Name = "sharptitan-watchdog" };
        _thread.Start();
    }

    /// <summary>Switches from the init timeout to the train timeout (call after the first training step).</summary>
    public void BeginTraining() => _training = true;

    /// <summary>Marks the calling thread as inside <paramref name="operation"/> until the result is disposed.</summary>
    internal Scope Track(string operation, IProcessGroup group)
    {
        var slot = _threadSlot.Value!;
        slot.Explain = null;
        slot.Group = $"'{group.Name}' ({group.Size} ranks)";
        Volatile.Write(ref slot.StartTimestamp, Stopwatch.GetTimestamp());
        slot.Operation = operation;
        return new Scope(slot);
    }

    /// <summary>
    /// Marks the calling thread as waiting for other ranks outside a collective (rank 0 waiting for every rank's
    /// checkpoint shard) until the result is disposed. Past the current timeout, counted from
    /// <paramref name="since"/> (a <see cref="Stopwatch"/> timestamp; default now), the job ends with
    /// <paramref name="explain"/>'s text, which should name the rank that did not arrive.
    /// </summary>
    internal Scope TrackWait(string operation, Func<string> explain, long? since = null)
    {
        var slot = _threadSlot.Value!;
        slot.Explain = explain;
        slot.Group = null;
        Volatile.Write(ref slot.StartTimestamp, since ?? Stopwatch.GetTimestamp());
        slot.Operation = operation;
        return new Scope(slot);
    }

    internal readonly struct Scope : IDisposable
    {
        private readonly Slot _slot;
        internal Scope(Slot slot) => _slot = slot;
        public void Dispose() => _slot.Operation = null;
    }

    /// <summary>
    /// Ends the job now with <paramref name="what"/> (for backends that detect a stuck collective themselves, as
    /// the NCCL group does from its CUDA events); does not return.
    /// </summary>
    internal void Abort(string what) =>
        _abort($"rank {_rank}: watchdog: {what} within {CurrentTimeout.TotalSeconds:0.###} s ({(_training ? "train" : "init")} timeout); aborting the job");

    private void Run()
    {
        while (!_stop.Token.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(100)))
        {
            var timeout = CurrentTimeout;
            Slot[] slots;
            lock (_slots) slots = _slots.ToArray();
            foreach (var slot in slots)
            {
                var op = slot.Operation;
                if (op == null) continue;
                var elapsed = Stopwatch.GetElapsedTime(Volatile.Read(ref slot.StartTimestamp));
                if (elapsed <= timeout || slot.Operation != op) continue;
                var what = slot.Explain is { } explain ? explain() : $"collective {op} on group {slot.Group} did not finish";
                _abort($"rank {_rank}: watchdog: {what} within " +
                       $"{timeout.TotalSeconds:0.###} s ({(_training ? "train" : "init")} timeout); aborting the job");
                return;
            }
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _thread.Join();
        _threadSlot.Dispose();
        _stop.Dispose();
    }
}
