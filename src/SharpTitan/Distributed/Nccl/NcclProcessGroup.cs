using SharpTitan.Native;
using TorchSharp;

namespace SharpTitan.Distributed.Nccl;

/// <summary>
/// A process group whose collectives are NCCL's, on the rank's GPU. MPI stays the launcher and bootstrap: rank 0
/// makes the unique id and the bootstrap group broadcasts it. Blocking calls are queued on libtorch's current
/// stream, so they are ordered with the compute around them (and the caching allocator's stream-ordered reuse keeps
/// their tensors safe); *Async calls run on the group's own communication stream after the current stream's work,
/// and <see cref="IWork.Wait"/> orders the current stream after them, so communication overlaps compute. Every queued
/// collective records a CUDA event that the group's watchdog polls: one unfinished past the timeout aborts the
/// communicators and ends the job with the operation's name, as the MPI backend's watchdog does.
/// </summary>
internal sealed unsafe class NcclProcessGroup : IProcessGroup
{
    private nint _comm;
    private readonly int _index;
    private readonly nint _commStream;
    private readonly NcclWatchdog _watchdog;
    private readonly bool _ownsWatchdog;

    public string Name { get; }
    public string Backend => "nccl";
    public bool MatchesByOrder => true;
    public int Rank { get; }
    public int Size { get; }
    public torch.Device Device { get; }

    private NcclProcessGroup(nint comm, string name, int rank, int size, torch.Device device, NcclWatchdog watchdog, bool ownsWatchdog)
    {
        (_comm, Name, Rank, Size, Device, _watchdog, _ownsWatchdog) = (comm, name, rank, size, device, watchdog, ownsWatchdog);
        _index = ComputeDevice.CudaIndex(device);
        _commStream = CudaNative.StreamFromPool(_index, highPriority: 1);
        _watchdog.Add(this);
    }

    /// <summary>
    /// The NCCL world over the ranks of <paramref name="bootstrap"/> (collective over it): each rank on its
    /// <paramref name="device"/>, which must differ between the ranks of one host (NCCL refuses two ranks per GPU).
    /// </summary>
    public static NcclProcessGroup Create(IProcessGroup bootstrap, torch.Device device, string name = "world")
    {
        if (!ComputeDevice.IsCuda(device)) throw new ArgumentException($"an NCCL group needs a CUDA device, not {device}");
        if (GpuWorld.RanksShareGpus(out int local, out int gpus))
            throw new Config.ConfigException($"{local} ranks on this host but {gpus} GPU(s): NCCL needs a GPU per rank (start at most {gpus} ranks per host, or set training.device = \"cpu\")");
        NcclLibrary.EnsureLoaded();
        CudaNative.SetDevice(ComputeDevice.CudaIndex(device));
        NcclUniqueId id;
        if (bootstrap.Rank == 0) NcclLibrary.Check(NcclLibrary.GetUniqueId(&id), "ncclGetUniqueId");
        var bytes = new byte[NcclLibrary.UniqueIdBytes];
        if (bootstrap.Rank == 0) new ReadOnlySpan<byte>(id.Bytes, bytes.Length).CopyTo(bytes);
        using (var t = torch.tensor(bytes))
        {
            bootstrap.Broadcast(t, 0); // over MPI (the host)
            t.data<byte>().CopyTo(bytes);
        }
        bytes.CopyTo(new Span<byte>(id.Bytes, bytes.Length));
        nint comm;
        NcclLibrary.Check(NcclLibrary.CommInitRank(&comm, bootstrap.Size, id, bootstrap.Rank), $"ncclCommInitRank (rank {bootstrap.Rank} of {bootstrap.Size} on {device})");
        return new NcclProcessGroup(comm, name, bootstrap.Rank, bootstrap.Size, device, new NcclWatchdog(), ownsWatchdog: true);
    }

    private nint CurrentStream => CudaNative.CurrentStream(_index);
    private static nint Ptr(torch.Tensor t) => TensorMemory.DataPointer(t);

    // ---- blocking (stream-ordered) collectives on the current stream ----

    public void AllReduce(torch.Tensor tensor, ReduceOp op = ReduceOp.Sum) => Run("all_reduce", CurrentStream, () => QueueAllReduce(tensor, op, CurrentStream));

    public void AllGather(torch.Tensor output, torch.Tensor input) => Run("all_gather", CurrentStream, () => QueueAllGather(output, input, CurrentStream));

    public void ReduceScatter(torch.Tensor output, torch.Tensor input, ReduceOp op = ReduceOp.Sum) =>
        Run("reduce_scatter", CurrentStream, () => QueueReduceScatter(output, input, op, CurrentStream));

    public void Broadcast(torch.Tensor tensor, int root)
    {
        CollectiveArgs.RequireDense("broadcast", "tensor", tensor, Device);
        CollectiveArgs.RequirePeer("broadcast", "root", root, Size);
        var stream = CurrentStream;
        Run("broadcast", stream, () => NcclLibrary.Check(NcclLibrary.Broadcast(Ptr(tensor), Ptr(tensor), (nuint)tensor.numel(),
            NcclLibrary.DataType(tensor.dtype), root, _comm, stream), "ncclBroadcast"));
    }

    /// <summary>Waits on the host until every rank got here (an all-reduce of one element, then a device sync).</summary>
    public void Barrier()
    {
        using var one = torch.ones(1, device: Device);
        AllReduce(one);
        CudaNative.StreamSynchronize(CurrentStream);
    }

    /// <summary>Stream-ordered: the current stream waits for the transfer (the host does not).</summary>
    public void Send(torch.Tensor tensor, int destination, int tag = 0) => SendAsync(tensor, destination, tag).Wait();

    /// <summary>Stream-ordered: the current stream waits for the transfer (the host does not).</summary>
    public void Recv(torch.Tensor tensor, int source, int tag = 0) => RecvAsync(tensor, source, tag).Wait();

    /// <summary>A send on the communication stream; matched with the peer's receives by order only (the tag is not used).</summary>
    public IWork SendAsync(torch.Tensor tensor, int destination, int tag = 0) => ExchangeAsync([PeerTransfer.Send(tensor, destination, tag)])[0];

    /// <summary>A receive on the communication stream; matched with the peer's sends by order only (the tag is not used).</summary>
    public IWork RecvAsync(torch.Tensor tensor, int source, int tag = 0) => ExchangeAsync([PeerTransfer.Receive(tensor, source, tag)])[0];

    /// <summary>
    /// The batch as one NCCL group call on the communication stream, after the current stream's work; Wait (any of
    /// the works: they are one) orders the current stream after it. Transfers between two ranks are matched by order:
    /// tags are not used.
    /// </summary>
    public IReadOnlyList<IWork> ExchangeAsync(IReadOnlyList<PeerTransfer> transfers)
    {
        foreach (var t in transfers)
        {
            CollectiveArgs.RequireDense(t.IsSend ? "send" : "recv", "tensor", t.Tensor, Device);
            CollectiveArgs.RequirePeer(t.IsSend ? "send" : "recv", t.IsSend ? "destination" : "source", t.Peer, Size);
        }
        string operation = transfers.Count == 1 ? transfers[0].ToString() : $"send/recv batch of {transfers.Count}";
        var work = Async(operation, [.. transfers.Select(t => t.Tensor)], stream =>
        {
            NcclLibrary.Check(NcclLibrary.GroupStart(), "ncclGroupStart");
            foreach (var t in transfers)
            {
                var (ptr, count, type) = (Ptr(t.Tensor), (nuint)t.Tensor.numel(), NcclLibrary.DataType(t.Tensor.dtype));
                NcclLibrary.Check(t.IsSend ? NcclLibrary.Send(ptr, count, type, t.Peer, _comm, stream) : NcclLibrary.Recv(ptr, count, type, t.Peer, _comm, stream),
                    t.IsSend ? "ncclSend" : "ncclRecv");
            }
            NcclLibrary.Check(NcclLibrary.GroupEnd(), "ncclGroupEnd");
        });
        return [.. transfers.Select(_ => work)];
    }

    // ---- async collectives on the communication stream ----

    public IWork AllReduceAsync(torch.Tensor tensor, ReduceOp op = ReduceOp.Sum) =>
        Async("all_reduce", [tensor], stream => QueueAllReduce(tensor, op, stream));

    public IWork AllGatherAsync(torch.Tensor output, torch.Tensor input) =>
        Async("all_gather", [output, input], stream => QueueAllGather(output, input, stream));

    public IWork ReduceScatterAsync(torch.Tensor output, torch.Tensor input, ReduceOp op = ReduceOp.Sum) =>
        Async("reduce_scatter", [output, input], stream => QueueReduceScatter(output, input, op, stream));

    private void QueueAllReduce(torch.Tensor tensor, ReduceOp op, nint stream)
    {
        CollectiveArgs.RequireDense("all_reduce", "tensor", tensor, Device);
        RequireReducible("all_reduce", tensor, op);
        NcclLibrary.Check(NcclLibrary.AllReduce(Ptr(tensor), Ptr(tensor), (nuint)tensor.numel(), NcclLibrary.DataType(tensor.dtype),
            NcclLibrary.Op(op), _comm, stream), "ncclAllReduce");
    }

    private void QueueAllGather(torch.Tensor output, torch.Tensor input, nint stream)
    {
        CollectiveArgs.RequireDense("all_gather", "output", output, Device);
        CollectiveArgs.RequireDense("all_gather", "input", input, Device);
        CollectiveArgs.RequireSameDtype("all_gather", output, input);
        CollectiveArgs.RequireNumel("all_gather", "output", output, input.numel() * Size, $"{Size} ranks x the input");
        NcclLibrary.Check(NcclLibrary.AllGather(Ptr(input), Ptr(output), (nuint)input.numel(), NcclLibrary.DataType(input.dtype), _comm, stream), "ncclAllGather");
    }

    private void QueueReduceScatter(torch.Tensor output, torch.Tensor input, ReduceOp op, nint stream)
    {
        CollectiveArgs.RequireDense("reduce_scatter", "output", output, Device);
        CollectiveArgs.RequireDense("reduce_scatter", "input", input, Device);
        CollectiveArgs.RequireSameDtype("reduce_scatter", output, input);
        CollectiveArgs.RequireNumel("reduce_scatter", "input", input, output.numel() * Size, $"{Size} ranks x the output");
        RequireReducible("reduce_scatter", input, op);
        NcclLibrary.Check(NcclLibrary.ReduceScatter(Ptr(input), Ptr(output), (nuint)output.numel(), NcclLibrary.DataType(input.dtype),
            NcclLibrary.Op(op), _comm, stream), "ncclReduceScatter");
    }

    private static void RequireReducible(string op, torch.Tensor t, ReduceOp reduce)
    {
        CollectiveArgs.RequireReducible(op, t, reduce);
        if (!NcclLibrary.Reducible(t.dtype)) throw new ArgumentException($"{op}: NCCL cannot reduce {t.dtype} tensors");
    }

    /// <summary>Queues one operation on <paramref name="stream"/> and hands its end to the watchdog.</summary>
    private void Run(string operation, nint stream, Action queue)
    {
        using var span = Metrics.Tracer.Begin($"{operation} ({Name})", "collective");
        queue();
        _watchdog.Watch(this, operation, stream);
    }

    /// <summary>Runs on the communication stream after the work queued so far on the current stream.</summary>
    private NcclWork Async(string operation, torch.Tensor[] tensors, Action<nint> queue)
    {
        var ready = CudaNative.EventCreate();
        CudaNative.EventRecord(ready, CurrentStream);
        CudaNative.StreamWaitEvent(_commStream, ready);
        CudaNative.EventDestroy(ready);
        Run(operation, _commStream, () => queue(_commStream));
        // The caching allocator must not hand these tensors' memory to other work before the collective has run.
        foreach (var t in tensors) CudaNative.RecordStream(t, _commStream, _index);
        var done = CudaNative.EventCreate();
        CudaNative.EventRecord(done, _commStream);
        return new NcclWork(done, _index);
    }

    public IProcessGroup Split(int color, int key, string name)
    {
        nint child;
        NcclLibrary.Check(NcclLibrary.CommSplit(_comm, color, key, &child, 0), $"ncclCommSplit ({name})");
        // The child's rank and size come from the split's order: the ranks of this color, ordered by (key, rank).
        int rank, size;
        using (var mine = torch.tensor(new long[] { color, key, Rank }, device: Device))
        using (var all = torch.empty(3L * Size, torch.ScalarType.Int64, device: Device))
        {
            AllGather(all, mine);
            var rows = all.cpu().data<long>().ToArray().Chunk(3).Where(r => r[0] == color).OrderBy(r => r[1]).ThenBy(r => r[2]).ToList();
            size = rows.Count;
            rank = rows.FindIndex(r => r[2] == Rank);
        }
        return new NcclProcessGroup(child, name, rank, size, Device, _watchdog, ownsWatchdog: false);
    }

    /// <summary>Ends the communicator at once, without waiting for peers (the watchdog's way out of a stuck collective).</summary>
    internal void Abort()
    {
        var comm = Interlocked.Exchange(ref _comm, 0);
        if (comm != 0) NcclLibrary.CommAbort(comm);
    }

    public void Dispose()
    {
        var comm = Interlocked.Exchange(ref _comm, 0);
        if (comm == 0) return;
        _watchdog.Remove(this);
        NcclLibrary.Check(NcclLibrary.CommDestroy(comm), $"ncclCommDestroy ({Name})");
        if (_ownsWatchdog) _watchdog.Dispose(); // the groups split from this one are disposed first (DeviceMesh)
    }

    public override string ToString() => $"{Name} (nccl {NcclLibrary.VersionText}, rank {Rank} of {Size} on {Device})";
}
