using SharpTitan.Native;
using TorchSharp;

namespace SharpTitan.Distributed;

/// <summary>
/// The group of a run without mpirun: one rank, no MPI loaded. Collectives are identities (gathers copy), with
/// the same argument checks as the MPI backend so code that works here fails the same way there.
/// </summary>
/// <param name="device">The job's device (default: the host).</param>
public sealed class SingleProcessGroup(string name = "world", torch.Device? device = null) : IProcessGroup
{
    public string Name { get; } = name;
    public string Backend => "single";
    public int Rank => 0;
    public int Size => 1;
    public torch.Device Device { get; } = device ?? ComputeDevice.Cpu;

    public void AllReduce(torch.Tensor tensor, ReduceOp op = ReduceOp.Sum)
    {
        CollectiveArgs.RequireDense("all_reduce", "tensor", tensor, Device);
        CollectiveArgs.RequireReducible("all_reduce", tensor, op);
    }

    public void AllGather(torch.Tensor output, torch.Tensor input)
    {
        CollectiveArgs.RequireDense("all_gather", "output", output, Device);
        CollectiveArgs.RequireDense("all_gather", "input", input, Device);
        CollectiveArgs.RequireSameDtype("all_gather", output, input);
        CollectiveArgs.RequireNumel("all_gather", "output", output, input.numel(), "1 rank");
        CopyFlat(output, input);
    }

    public void ReduceScatter(torch.Tensor output, torch.Tensor input, ReduceOp op = ReduceOp.Sum)
    {
        CollectiveArgs.RequireDense("reduce_scatter", "output", output, Device);
        CollectiveArgs.RequireDense("reduce_scatter", "input", input, Device);
        CollectiveArgs.RequireSameDtype("reduce_scatter", output, input);
        CollectiveArgs.RequireNumel("reduce_scatter", "input", input, output.numel(), "1 rank");
        CollectiveArgs.RequireReducible("reduce_scatter", input, op);
        CopyFlat(output, input);
    }

    public void Broadcast(torch.Tensor tensor, int root)
    {
        CollectiveArgs.RequireDense("broadcast", "tensor", tensor, Device);
        CollectiveArgs.RequirePeer("broadcast", "root", root, 1);
    }

    public void Barrier() { }

    public void Send(torch.Tensor tensor, int destination, int tag = 0) =>
        throw new InvalidOperationException($"send: group '{Name}' has one rank, there is no peer to send to");

    public void Recv(torch.Tensor tensor, int source, int tag = 0) =>
        throw new InvalidOperationException($"recv: group '{Name}' has one rank, there is no peer to receive from");

    public IWork SendAsync(torch.Tensor tensor, int destination, int tag = 0) =>
        throw new InvalidOperationException($"send: group '{Name}' has one rank, there is no peer to send to");

    public IWork RecvAsync(torch.Tensor tensor, int source, int tag = 0) =>
        throw new InvalidOperationException($"recv: group '{Name}' has one rank, there is no peer to receive from");

    public IWork AllReduceAsync(torch.Tensor tensor, ReduceOp op = ReduceOp.Sum)
    {
        AllReduce(tensor, op);
        return CompletedWork.Instance;
    }

    public IWork AllGatherAsync(torch.Tensor output, torch.Tensor input)
    {
        AllGather(output, input);
        return CompletedWork.Instance;
    }

    public IWork ReduceScatterAsync(torch.Tensor output, torch.Tensor input, ReduceOp op = ReduceOp.Sum)
    {
        ReduceScatter(output, input, op);
        return CompletedWork.Instance;
    }

    public IProcessGroup Split(int color, int key, string name) => new SingleProcessGroup(name);

    public void Dispose() { }

    public override string ToString() => $"{Name} (single process)";

    private static void CopyFlat(torch.Tensor output, torch.Tensor input)
    {
        using var noGrad = torch.no_grad();
        using var dst = output.view(-1);
        using var src = input.view(-1);
        if (Native.TensorMemory.DataPointer(dst) == Native.TensorMemory.DataPointer(src)) return;
        dst.copy_(src);
    }
}
