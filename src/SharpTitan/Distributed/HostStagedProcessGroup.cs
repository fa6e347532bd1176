using SharpTitan.Native;
using TorchSharp;

namespace SharpTitan.Distributed;

/// <summary>
/// A host group (MPI) used with device tensors: each collective copies its tensors to host memory, runs there, and
/// copies the results back. For ranks that share a GPU, where NCCL refuses to run (one rank per GPU): correct but
/// slow, every transfer crossing PCIe twice. Async calls copy in on the caller's thread and copy out in Wait.
/// </summary>
/// <param name="inner">The host group that runs the collectives.</param>
/// <param name="device">The ranks' device: where callers' tensors live.</param>
/// <param name="ownsInner">Dispose <paramref name="inner"/> with this group (groups made by Split always do).</param>
/// <param name="stageHostTensors">Copy host tensors too (tests: runs the staging on a machine without a GPU).</param>
public sealed class HostStagedProcessGroup(IProcessGroup inner, torch.Device device, bool ownsInner = false, bool stageHostTensors = false) : IProcessGroup
{
    public string Name => inner.Name;
    public string Backend => inner.Backend + "+host-staging";
    public bool MatchesByOrder => inner.MatchesByOrder;
    public int Rank => inner.Rank;
    public int Size => inner.Size;
    public torch.Device Device { get; } = device;

    public void AllReduce(torch.Tensor tensor, ReduceOp op = ReduceOp.Sum) =>
        Staged([tensor], 1, h => inner.AllReduce(h[0], op));

    public void AllGather(torch.Tensor output, torch.Tensor input) =>
        Staged([output, input], 1, h => inner.AllGather(h[0], h[1]));

    public void ReduceScatter(torch.Tensor output, torch.Tensor input, ReduceOp op = ReduceOp.Sum) =>
        Staged([output, input], 1, h => inner.ReduceScatter(h[0], h[1], op));

    public void Broadcast(torch.Tensor tensor, int root) =>
        Staged([tensor], 1, h => inner.Broadcast(h[0], root));

    public void Barrier() => inner.Barrier();

    public void Send(torch.Tensor tensor, int destination, int tag = 0) =>
        Staged([tensor], 0, h => inner.Send(h[0], destination, tag));

    public void Recv(torch.Tensor tensor, int source, int tag = 0) =>
        Staged([tensor], 1, h => inner.Recv(h[0], source, tag));

    public IWork SendAsync(torch.Tensor tensor, int destination, int tag = 0) =>
        StagedAsync([tensor], 0, h => inner.SendAsync(h[0], destination, tag));

    public IWork RecvAsync(torch.Tensor tensor, int source, int tag = 0) =>
        StagedAsync([tensor], 1, h => inner.RecvAsync(h[0], source, tag));

    public IWork AllReduceAsync(torch.Tensor tensor, ReduceOp op = ReduceOp.Sum) =>
        StagedAsync([tensor], 1, h => inner.AllReduceAsync(h[0], op));

    public IWork AllGatherAsync(torch.Tensor output, torch.Tensor input) =>
        StagedAsync([output, input], 1, h => inner.AllGatherAsync(h[0], h[1]));

    public IWork ReduceScatterAsync(torch.Tensor output, torch.Tensor input, ReduceOp op = ReduceOp.Sum) =>
        StagedAsync([output, input], 1, h => inner.ReduceScatterAsync(h[0], h[1], op));

    public IProcessGroup Split(int color, int key, string name) =>
        new HostStagedProcessGroup(inner.Split(color, key, name), Device, ownsInner: true, stageHostTensors);

    public void Dispose()
    {
        if (ownsInner) inner.Dispose();
    }

    private void Staged(torch.Tensor[] tensors, int results, Action<torch.Tensor[]> run) =>
        StagedAsync(tensors, results, h =>
        {
            run(h);
            return CompletedWork.Instance;
        }).Wait();

    /// <summary>
    /// Host copies of <paramref name="tensors"/> (a tensor already on the host is used as it is), the operation on
    /// them, and a work whose Wait copies the first <paramref name="results"/> of them back.
    /// </summary>
    private StagedWork StagedAsync(torch.Tensor[] tensors, int results, Func<torch.Tensor[], IWork> run)
    {
        var hosts = tensors.Select(ToHost).ToArray();
        IWork work;
        try { work = run(hosts); }
        catch
        {
            DisposeCopies(tensors, hosts);
            throw;
        }
        return new StagedWork(work, succeeded =>
        {
            try
            {
                using var _ = torch.no_grad();
                for (int i = 0; succeeded && i < results; i++)
                    if (!ReferenceEquals(hosts[i], tensors[i])) tensors[i].copy_(hosts[i]);
            }
            finally { DisposeCopies(tensors, hosts); }
        });
    }

    private torch.Tensor ToHost(torch.Tensor t)
    {
        if (ComputeDevice.IsCpu(t.device) && !stageHostTensors) return t;
        // Keeps the strides (a non-contiguous tensor stays one, so the host group's argument checks still apply);
        // copying to the host waits for the device's pending work on the tensor.
        using var _ = torch.no_grad();
        var host = ComputeDevice.IsCpu(t.device) ? t.clone() : t.to(ComputeDevice.Cpu);
        return host.DetachFromDisposeScope();
    }

    private static void DisposeCopies(torch.Tensor[] tensors, torch.Tensor[] hosts)
    {
        for (int i = 0; i < hosts.Length; i++)
            if (!ReferenceEquals(hosts[i], tensors[i])) hosts[i].Dispose();
    }

    /// <summary>The host group's work, then the copy back to the device (once, on the thread that waits; the host copies are freed either way).</summary>
    private sealed class StagedWork(IWork inner, Action<bool> finish) : IWork
    {
        private bool _finished;

        public bool IsCompleted => _finished || inner.IsCompleted;

        public void Wait()
        {
            if (_finished) return;
            bool succeeded = false;
            try
            {
                inner.Wait();
                succeeded = true;
            }
            finally
            {
                _finished = true;
                finish(succeeded);
            }
        }
    }
}
