using SharpTitan.Metrics;
using System.Runtime.InteropServices;
using SharpTitan.Native;
using TorchSharp;

namespace SharpTitan.Distributed.Mpi;

/// <summary>
/// A process group over an MPI communicator. Synchronous collectives run on the caller's thread; *Async ones run
/// on the process's communication thread over a duplicate of the communicator, so the two streams never interleave
/// on one communicator (MPI requires collectives on a communicator to be issued in the same order everywhere).
/// </summary>
internal sealed unsafe class MpiProcessGroup : IProcessGroup
{
    /// <summary>The largest count handed to one MPI call (MPI counts are int). Tests lower it to force chunking.</summary>
    internal static long MaxCountPerCall { get; set; } = int.MaxValue;

    private readonly MpiRuntime _runtime;
    private readonly bool _ownsComm;
    private nint _comm;
    private nint _asyncComm;

    public string Name { get; }
    public string Backend => "mpi";
    public int Rank { get; }
    public int Size { get; }
    /// <summary>MPI moves host memory.</summary>
    public torch.Device Device => ComputeDevice.Cpu;

    internal MpiProcessGroup(MpiRuntime runtime, nint comm, bool ownsComm, string name)
    {
        _runtime = runtime;
        _comm = comm;
        _ownsComm = ownsComm;
        Name = name;
        Rank = Lib.CommRank(comm);
        Size = Lib.CommSize(comm);
        _asyncComm = Lib.CommDup(comm);
    }

    private MpiLibrary Lib => _runtime.Library;
    private MpiHandles Handles => _runtime.Library.Handles;

    // ---- public operations: check arguments on the caller's thread, then run (here or on the comm thread) ----

    public void AllReduce(torch.Tensor tensor, ReduceOp op = ReduceOp.Sum)
    {
        CheckAllReduce(tensor, op);
        using var _ = Observe("all_reduce");
        AllReduceOn(_comm, tensor, op);
    }

    public IWork AllReduceAsync(torch.Tensor tensor, ReduceOp op = ReduceOp.Sum)
    {
        CheckAllReduce(tensor, op);
        return Enqueue("all_reduce (async)", () => AllReduceOn(_asyncComm, tensor, op));
    }

    public void AllGather(torch.Tensor output, torch.Tensor input)
    {
        CheckAllGather(output, input);
        using var _ = Observe("all_gather");
        AllGatherOn(_comm, output, input);
    }

    public IWork AllGatherAsync(torch.Tensor output, torch.Tensor input)
    {
        CheckAllGather(output, input);
        return Enqueue("all_gather (async)", () => AllGatherOn(_asyncComm, output, input));
    }

    public void ReduceScatter(torch.Tensor output, torch.Tensor input, ReduceOp op = ReduceOp.Sum)
    {
        CheckReduceScatter(output, input, op);
        using var _ = Observe("reduce_scatter");
        ReduceScatterOn(_comm, output, input, op);
    }

    public IWork ReduceScatterAsync(torch.Tensor output, torch.Tensor input, ReduceOp op = ReduceOp.Sum)
    {
        CheckReduceScatter(output, input, op);
        return Enqueue("reduce_scatter (async)", () => ReduceScatterOn(_asyncComm, output, input, op));
    }

    public void Broadcast(torch.Tensor tensor, int root)
    {
        CollectiveArgs.RequireDense("broadcast", "tensor", tensor, Device);
        CollectiveArgs.RequirePeer("broadcast", "root", root, Size);
        using var _ = Observe("broadcast");
        var (type, unit) = MpiDtypes.RawType(Handles, tensor);
        ForEachChunk(tensor.numel() * tensor.ElementSize / unit, (offset, count) =>
            Lib.Bcast((void*)(Pointer(tensor) + offset * unit), count, type, root, _comm));
    }

    public void Barrier()
    {
        using var _ = Observe("barrier");
        Lib.Barrier(_comm);
    }

    public void Send(torch.Tensor tensor, int destination, int tag = 0)
    {
        CheckPointToPoint("send", tensor, "destination", destination, tag);
        using var _ = Observe($"send to {destination}");
        var (type, unit) = MpiDtypes.RawType(Handles, tensor);
        ForEachChunk(tensor.numel() * tensor.ElementSize / unit, (offset, count) =>
            Lib.Send((void*)(Pointer(tensor) + offset * unit), count, type, destination, tag, _comm));
    }

    public void Recv(torch.Tensor tensor, int source, int tag = 0)
    {
        CheckPointToPoint("recv", tensor, "source", source, tag);
        using var _ = Observe($"recv from {source}");
        var (type, unit) = MpiDtypes.RawType(Handles, tensor);
        ForEachChunk(tensor.numel() * tensor.ElementSize / unit, (offset, count) =>
            Lib.Recv((void*)(Pointer(tensor) + offset * unit), count, type, source, tag, _comm));
    }

    public IWork SendAsync(torch.Tensor tensor, int destination, int tag = 0)
    {
        CheckPointToPoint("send", tensor, "destination", destination, tag);
        return StartRequests(tensor, $"send to {destination}", (buffer, count, type) => Lib.Isend(buffer, count, type, destination, tag, _comm));
    }

    public IWork RecvAsync(torch.Tensor tensor, int source, int tag = 0)
    {
        CheckPointToPoint("recv", tensor, "source", source, tag);
        return StartRequests(tensor, $"recv from {source}", (buffer, count, type) => Lib.Irecv(buffer, count, type, source, tag, _comm));
    }

    private delegate nint StartRequest(void* buffer, int count, nint type);

    /// <summary>One request per chunk, in order (messages of one tag between two ranks are matched in order).</summary>
    private MpiRequestWork StartRequests(torch.Tensor tensor, string operation, StartRequest start)
    {
        var (type, unit) = MpiDtypes.RawType(Handles, tensor);
        var requests = new List<nint>();
        ForEachChunk(tensor.numel() * tensor.ElementSize / unit, (offset, count) =>
            requests.Add(start((void*)(Pointer(tensor) + offset * unit), count, type)));
        return new MpiRequestWork(Lib, [.. requests], tensor, () => Observe($"wait {operation}"));
    }

    public IProcessGroup Split(int color, int key, string name)
    {
        if (color < 0) throw new ArgumentOutOfRangeException(nameof(color), $"split '{name}': color must be >= 0, got {color}");
        using var _ = Observe($"split into '{name}'");
        return new MpiProcessGroup(_runtime, Lib.CommSplit(_comm, color, key), ownsComm: true, name);
    }

    public void Dispose()
    {
        if (_asyncComm == 0 || Lib.IsFinalized) return;
        Lib.CommFree(_asyncComm);
        if (_ownsComm) Lib.CommFree(_comm);
        _asyncComm = _comm = 0;
    }

    public override string ToString() => $"{Name} (mpi, rank {Rank} of {Size})";

    // ---- argument checks ----

    private void CheckAllReduce(torch.Tensor tensor, ReduceOp op)
    {
        CollectiveArgs.RequireDense("all_reduce", "tensor", tensor, Device);
        CollectiveArgs.RequireReducible("all_reduce", tensor, op);
        MpiDtypes.RequireReducible("all_reduce", tensor.dtype);
    }

    private void CheckAllGather(torch.Tensor output, torch.Tensor input)
    {
        CollectiveArgs.RequireDense("all_gather", "output", output, Device);
        CollectiveArgs.RequireDense("all_gather", "input", input, Device);
        CollectiveArgs.RequireSameDtype("all_gather", output, input);
        CollectiveArgs.RequireNumel("all_gather", "output", output, Size * input.numel(), $"{Size} ranks x {input.numel()}");
    }

    private void CheckReduceScatter(torch.Tensor output, torch.Tensor input, ReduceOp op)
    {
        CollectiveArgs.RequireDense("reduce_scatter", "output", output, Device);
        CollectiveArgs.RequireDense("reduce_scatter", "input", input, Device);
        CollectiveArgs.RequireSameDtype("reduce_scatter", output, input);
        CollectiveArgs.RequireNumel("reduce_scatter", "input", input, Size * output.numel(), $"{Size} ranks x {output.numel()}");
        CollectiveArgs.RequireReducible("reduce_scatter", input, op);
        MpiDtypes.RequireReducible("reduce_scatter", input.dtype);
    }

    private void CheckPointToPoint(string op, torch.Tensor tensor, string peerName, int peer, int tag)
    {
        CollectiveArgs.RequireDense(op, "tensor", tensor, Device);
        CollectiveArgs.RequirePeer(op, peerName, peer, Size);
        if (tag < 0) throw new ArgumentOutOfRangeException(nameof(tag), $"{op}: tag must be >= 0, got {tag}");
    }

    // ---- the operations on a given communicator ----

    private TracedWork Enqueue(string name, Action operation) => new TracedWork($"wait {name} ({Name})", _runtime.CommThread.Enqueue(() =>
    {
        using var _ = Observe(name);
        operation();
    }));

    /// <summary>Watchdog tracking plus a trace span (when a profiling window is open) around one collective.</summary>
    private CollectiveScope Observe(string operation) =>
        new(_runtime.Watchdog.Track(operation, this), Tracer.Begin($"{operation} ({Name})", "collective"));

    private readonly struct CollectiveScope(CollectiveWatchdog.Scope watch, Tracer.Span span) : IDisposable
    {
        public void Dispose()
        {
            span.Dispose();
            watch.Dispose();
        }
    }

    /// <summary>An async collective whose Wait shows in traces as the time the caller was blocked on it.</summary>
    private sealed class TracedWork(string name, IWork inner) : IWork
    {
        public bool IsCompleted => inner.IsCompleted;

        public void Wait()
        {
            if (inner.IsCompleted) { inner.Wait(); return; }
            using var span = Tracer.Begin(name, "collective-wait");
            inner.Wait();
        }
    }

    private void AllReduceOn(nint comm, torch.Tensor tensor, ReduceOp op)
    {
        if (tensor.numel() == 0) return;
        using var noGrad = torch.no_grad();
        if (CollectiveArgs.ReducesInFloat32(tensor.dtype))
        {
            using var wide = tensor.to(torch.ScalarType.Float32);
            AllReduceOn(comm, wide, op);
            tensor.copy_(wide);
            return;
        }
        var type = MpiDtypes.ReductionType(Handles, tensor.dtype);
        var mpiOp = MpiDtypes.Op(Handles, op);
        var size = tensor.ElementSize;
        ForEachChunk(tensor.numel(), (offset, count) =>
            Lib.Allreduce((void*)Handles.InPlace, (void*)(Pointer(tensor) + offset * size), count, type, mpiOp, comm));
        if (op == ReduceOp.Avg) tensor.div_(Size);
    }

    private void AllGatherOn(nint comm, torch.Tensor output, torch.Tensor input)
    {
        if (input.numel() == 0) return;
        var (type, unit) = MpiDtypes.RawType(Handles, input);
        long perRank = input.numel() * input.ElementSize / unit;
        nint inPtr = Pointer(input), outPtr = Pointer(output);
        if (perRank <= MaxCountPerCall)
        {
            // FSDP gathers into a buffer whose own-rank slice is the input: MPI needs MPI_IN_PLACE for that.
            bool inPlace = inPtr == outPtr + Rank * perRank * unit;
            Lib.Allgather(inPlace ? (void*)Handles.InPlace : (void*)inPtr, (int)perRank, (void*)outPtr, (int)perRank, type, comm);
            return;
        }
        // Chunk k of every rank lands contiguously in scratch, then moves to its place in the output.
        long chunk = MaxCountPerCall;
        var scratch = (byte*)NativeMemory.Alloc((nuint)(Size * chunk * unit));
        try
        {
            ForEachChunk(perRank, (offset, count) =>
            {
                Lib.Allgather((void*)(inPtr + offset * unit), count, scratch, count, type, comm);
                for (int r = 0; r < Size; r++)
                    Buffer.MemoryCopy(scratch + (long)r * count * unit, (void*)(outPtr + (r * perRank + offset) * unit),
                        (long)count * unit, (long)count * unit);
            });
        }
        finally { NativeMemory.Free(scratch); }
    }

    private void ReduceScatterOn(nint comm, torch.Tensor output, torch.Tensor input, ReduceOp op)
    {
        if (output.numel() == 0) return;
        using var noGrad = torch.no_grad();
        if (CollectiveArgs.ReducesInFloat32(input.dtype))
        {
            using var wideIn = input.to(torch.ScalarType.Float32);
            using var wideOut = torch.empty(output.shape, torch.ScalarType.Float32);
            ReduceScatterOn(comm, wideOut, wideIn, op);
            output.copy_(wideOut);
            return;
        }
        var type = MpiDtypes.ReductionType(Handles, input.dtype);
        var mpiOp = MpiDtypes.Op(Handles, op);
        long size = input.ElementSize, perRank = output.numel();
        nint inPtr = Pointer(input), outPtr = Pointer(output);
        if (perRank <= MaxCountPerCall)
            Lib.ReduceScatterBlock((void*)inPtr, (void*)outPtr, (int)perRank, type, mpiOp, comm);
        else
        {
            // Pack chunk k of every rank's block contiguously, then reduce-scatter that.
            var scratch = (byte*)NativeMemory.Alloc((nuint)(Size * MaxCountPerCall * size));
            try
            {
                ForEachChunk(perRank, (offset, count) =>
                {
                    for (int r = 0; r < Size; r++)
                        Buffer.MemoryCopy((void*)(inPtr + (r * perRank + offset) * size), scratch + r * count * size,
                            count * size, count * size);
                    Lib.ReduceScatterBlock(scratch, (void*)(outPtr + offset * size), count, type, mpiOp, comm);
                });
            }
            finally { NativeMemory.Free(scratch); }
        }
        if (op == ReduceOp.Avg) output.div_(Size);
    }

    private static void ForEachChunk(long total, Action<long, int> run)
    {
        for (long offset = 0; offset < total; offset += MaxCountPerCall)
            run(offset, (int)Math.Min(MaxCountPerCall, total - offset));
    }

    private static nint Pointer(torch.Tensor t) => TensorMemory.DataPointer(t);
}
