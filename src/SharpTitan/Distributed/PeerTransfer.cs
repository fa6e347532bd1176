using TorchSharp;

namespace SharpTitan.Distributed;

/// <summary>
/// One send or receive of a batch started together (<see cref="IProcessGroup.ExchangeAsync"/>, PyTorch's
/// batch_isend_irecv). NCCL matches the transfers between two ranks by their order alone; MPI also by tag.
/// </summary>
public readonly record struct PeerTransfer(bool IsSend, torch.Tensor Tensor, int Peer, int Tag)
{
    public static PeerTransfer Send(torch.Tensor tensor, int destination, int tag = 0) => new(true, tensor, destination, tag);
    public static PeerTransfer Receive(torch.Tensor tensor, int source, int tag = 0) => new(false, tensor, source, tag);

    public override string ToString() => IsSend ? $"send to {Peer} (tag {Tag})" : $"recv from {Peer} (tag {Tag})";
}

/// <summary>Several works waited as one: Wait waits for each, in order.</summary>
internal sealed class WorkBatch(IReadOnlyList<IWork> works) : IWork
{
    public bool IsCompleted => works.All(w => w.IsCompleted);

    public void Wait()
    {
        foreach (var w in works) w.Wait();
    }
}
