using SharpTitan.Native;

namespace SharpTitan.Distributed.Nccl;

/// <summary>
/// An NCCL collective queued on the group's communication stream. <see cref="Wait"/> orders the caller's current
/// stream after it (work queued afterwards runs after the collective) without blocking the host, as
/// torch.distributed's NCCL work.wait() does; <see cref="IsCompleted"/> asks the device.
/// </summary>
internal sealed class NcclWork(nint doneEvent, int device) : IWork
{
    private nint _event = doneEvent;

    public bool IsCompleted => _event == 0 || CudaNative.EventDone(_event);

    public void Wait()
    {
        if (_event == 0) return;
        CudaNative.StreamWaitEvent(CudaNative.CurrentStream(device), _event);
        CudaNative.EventDestroy(_event); // CUDA releases it once the recorded work has run
        _event = 0;
    }
}
