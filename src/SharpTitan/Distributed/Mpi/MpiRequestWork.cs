using TorchSharp;

namespace SharpTitan.Distributed.Mpi;

/// <summary>
/// A non-blocking send or receive (MPI_Isend / MPI_Irecv; several requests when the tensor is chunked). Holds the
/// tensor so it stays alive until the transfer finished. Wait drives MPI's progress (MPI_Wait) under the watchdog,
/// so a peer that never answers ends the job instead of hanging it; IsCompleted polls (MPI_Test).
/// </summary>
internal sealed class MpiRequestWork(MpiLibrary library, nint[] requests, torch.Tensor tensor, Func<IDisposable> observeWait) : IWork
{
    private readonly object _lock = new();
    private int _done;

    /// <summary>The tensor being sent or received into.</summary>
    public torch.Tensor Tensor => tensor;

    public bool IsCompleted
    {
        get
        {
            lock (_lock)
            {
                while (_done < requests.Length && library.Test(ref requests[_done])) _done++;
                return _done == requests.Length;
            }
        }
    }

    public void Wait()
    {
        lock (_lock)
        {
            if (_done == requests.Length) return;
            using var _ = observeWait();
            for (; _done < requests.Length; _done++) library.Wait(ref requests[_done]);
        }
    }
}
