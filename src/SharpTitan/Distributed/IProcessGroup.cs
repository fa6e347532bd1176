using TorchSharp;

namespace SharpTitan.Distributed;

/// <summary>
/// The ranks of one communicator and the collectives over them, on contiguous tensors (CPU for MPI; a GPU
/// backend would take device tensors through the same calls). Every rank of the group must issue the same
/// collectives in the same order with tensors of the same shape and dtype. Ranks are group ranks.
/// bfloat16/float16 reductions accumulate in float32; gathers, broadcasts and send/recv move raw bytes.
/// </summary>
public interface IProcessGroup : IDisposable
{
    /// <summary>A short name for messages: "world", "dp_shard", "tp"...</summary>
    string Name { get; }
    /// <summary>"mpi", "nccl", "single", or an inner backend's name + "+host-staging".</summary>
    string Backend { get; }
    int Rank { get; }
    int Size { get; }
    /// <summary>Where this group's collectives take their tensors (MPI: the host; NCCL: the rank's GPU).</summary>
    torch.Device Device { get; }

    /// <summary>
    /// Transfers between two ranks are matched by their order alone, not by tag (NCCL): they must be posted in one
    /// agreed order, from one thread.
    /// </summary>
    bool MatchesByOrder => false;

    /// <summary>Combines <paramref name="tensor"/> across ranks in place.</summary>
    void AllReduce(torch.Tensor tensor, ReduceOp op = ReduceOp.Sum);

    /// <summary>Output holds Size x input.numel() elements, rank r's input at offset r x input.numel().</summary>
    void AllGather(torch.Tensor output, torch.Tensor input);

    /// <summary>Input holds Size x output.numel() elements; rank r gets the combination of every rank's r-th block.</summary>
    void ReduceScatter(torch.Tensor output, torch.Tensor input, ReduceOp op = ReduceOp.Sum);

    /// <summary>Copies <paramref name="tensor"/> from group rank <paramref name="root"/> to every rank, in place.</summary>
    void Broadcast(torch.Tensor tensor, int root);

    void Barrier();

    void Send(torch.Tensor tensor, int destination, int tag = 0);

    void Recv(torch.Tensor tensor, int source, int tag = 0);

    /// <summary>
    /// Starts sending <paramref name="tensor"/> to group rank <paramref name="destination"/> and returns at once (MPI:
    /// Isend on the caller's thread, no communication thread). Keep the tensor unchanged until Wait returns. Sends
    /// and receives between two ranks with one tag are matched in the order they were started.
    /// </summary>
    IWork SendAsync(torch.Tensor tensor, int destination, int tag = 0);

    /// <summary>Starts receiving into <paramref name="tensor"/> from group rank <paramref name="source"/>; its bytes are valid once Wait returns.</summary>
    IWork RecvAsync(torch.Tensor tensor, int source, int tag = 0);

    /// <summary>
    /// Starts a batch of sends and receives together (PyTorch's batch_isend_irecv) and returns a work per transfer, in
    /// the transfers' order: the receives are posted first, so a batch may exchange with a neighbour, or with this rank
    /// itself, without deadlock. On NCCL the batch is one group call on the group's communication stream (its works
    /// are one), and the transfers between two ranks are matched by order only: both ranks must post them in the same
    /// order.
    /// </summary>
    IReadOnlyList<IWork> ExchangeAsync(IReadOnlyList<PeerTransfer> transfers)
    {
        var works = new IWork[transfers.Count];
        for (int i = 0; i < transfers.Count; i++)
            if (!transfers[i].IsSend) works[i] = RecvAsync(transfers[i].Tensor, transfers[i].Peer, transfers[i].Tag);
        for (int i = 0; i < transfers.Count; i++)
            if (transfers[i].IsSend) works[i] = SendAsync(transfers[i].Tensor, transfers[i].Peer, transfers[i].Tag);
        return works;
    }

    /// <summary>All-reduce on the communication thread (in issue order; see <see cref="IWork"/>).</summary>
    IWork AllReduceAsync(torch.Tensor tensor, ReduceOp op = ReduceOp.Sum);

    /// <summary>All-gather on the communication thread (in issue order; see <see cref="IWork"/>).</summary>
    IWork AllGatherAsync(torch.Tensor output, torch.Tensor input);

    /// <summary>Reduce-scatter on the communication thread (in issue order; see <see cref="IWork"/>).</summary>
    IWork ReduceScatterAsync(torch.Tensor output, torch.Tensor input, ReduceOp op = ReduceOp.Sum);

    /// <summary>
    /// Collective over this group: ranks passing the same <paramref name="color"/> form a new group, ordered by
    /// <paramref name="key"/> (then by rank).
    /// </summary>
    IProcessGroup Split(int color, int key, string name);
}

/// <summary>Conveniences over <see cref="IProcessGroup"/>.</summary>
public static class ProcessGroupExtensions
{
    /// <summary>All-reduce of a tensor of any layout (a gradient may be non-contiguous), in place.</summary>
    public static void AllReduceInPlace(this IProcessGroup group, torch.Tensor tensor, ReduceOp op = ReduceOp.Sum)
    {
        using var _ = torch.no_grad();
        if (tensor.is_contiguous())
        {
            group.AllReduce(tensor, op);
            return;
        }
        using var c = tensor.contiguous();
        group.AllReduce(c, op);
        tensor.copy_(c);
    }
}
