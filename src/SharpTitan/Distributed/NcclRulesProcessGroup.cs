using TorchSharp;

namespace SharpTitan.Distributed;

/// <summary>
/// Another group (MPI) under NCCL's point-to-point rules, to check on the CPU what NCCL will do with a layout
/// (`debug.emulate_nccl_p2p`): transfers between two ranks are matched by their order alone (every tag becomes 0),
/// and a batch starts only once the one before it has finished (NCCL runs a group's batches one after another on
/// its stream; here the caller waits). A posting order that NCCL would mismatch or deadlock on then gives wrong
/// numbers or a stalled rank here too. Collectives pass through unchanged.
/// </summary>
public sealed class NcclRulesProcessGroup(IProcessGroup inner) : IProcessGroup
{
    private IReadOnlyList<IWork> _previous = [];

    public string Name => inner.Name;
    public string Backend => inner.Backend + "+nccl-rules";
    public int Rank => inner.Rank;
    public int Size => inner.Size;
    public torch.Device Device => inner.Device;
    public bool MatchesByOrder => true;

    public void AllReduce(torch.Tensor tensor, ReduceOp op = ReduceOp.Sum) => inner.AllReduce(tensor, op);
    public void AllGather(torch.Tensor output, torch.Tensor input) => inner.AllGather(output, input);
    public void ReduceScatter(torch.Tensor output, torch.Tensor input, ReduceOp op = ReduceOp.Sum) => inner.ReduceScatter(output, input, op);
    public void Broadcast(torch.Tensor tensor, int root) => inner.Broadcast(tensor, root);
    public void Barrier() => inner.Barrier();
    public IWork AllReduceAsync(torch.Tensor tensor, ReduceOp op = ReduceOp.Sum) => inner.AllReduceAsync(tensor, op);
    public IWork AllGatherAsync(torch.Tensor output, torch.Tensor input) => inner.AllGatherAsync(output, input);
    public IWork ReduceScatterAsync(torch.Tensor output, torch.Tensor input, ReduceOp op = ReduceOp.Sum) => inner.ReduceScatterAsync(output, input, op);

    public void Send(torch.Tensor tensor, int destination, int tag = 0) => SendAsync(tensor, destination, tag).Wait();
    public void Recv(torch.Tensor tensor, int source, int tag = 0) => RecvAsync(tensor, source, tag).Wait();
    public IWork SendAsync(torch.Tensor tensor, int destination, int tag = 0) => ExchangeAsync([PeerTransfer.Send(tensor, destination, tag)])[0];
    public IWork RecvAsync(torch.Tensor tensor, int source, int tag = 0) => ExchangeAsync([PeerTransfer.Receive(tensor, source, tag)])[0];

    public IReadOnlyList<IWork> ExchangeAsync(IReadOnlyList<PeerTransfer> transfers)
    {
        lock (this)
        {
            foreach (var w in _previous) w.Wait();
            _previous = inner.ExchangeAsync([.. transfers.Select(t => t with { Tag = 0 })]);
            return _previous;
        }
    }

    public IProcessGroup Split(int color, int key, string name) => new NcclRulesProcessGroup(inner.Split(color, key, name));

    public void Dispose() => inner.Dispose();
}
