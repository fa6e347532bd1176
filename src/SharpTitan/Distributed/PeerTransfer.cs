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
