using TorchSharp;
using static TorchSharp.torch;

namespace SharpTitan.Native;

/// <summary>
/// The dispose scope of a custom autograd function's backward. On CUDA libtorch runs backward on its own device
/// thread, where no dispose scope of ours is open: the tensors TorchSharp wraps there (the incoming gradient, the
/// saved variables, the gradients handed back) would wait for the GC while holding device memory, which float8
/// training on an H200 showed as ~70 MB more reserved memory every step of the debug model. Open one first thing in
/// backward; everything made there is disposed with it, except the gradients passed to <see cref="HandOut"/>:
/// libtorch copies those when backward returns, so they (and the incoming gradient's wrapper) are disposed when the
/// next backward on the same thread starts, or by <see cref="ReleaseAll"/> once the whole backward pass has returned.
/// Only for functions whose returned gradients are fresh tensors.
/// </summary>
internal sealed class BackwardScope : IDisposable
{
    /// <summary>One backward thread's last handed-out tensors.</summary>
    private sealed class HandedOut
    {
        public List<Tensor>? Tensors;

        public void Free()
        {
            lock (this)
            {
                foreach (var t in Tensors ?? []) t.Dispose();
                Tensors = null;
            }
        }
    }

    [ThreadStatic] private static HandedOut? _mine;
    private static readonly List<HandedOut> Threads = [];

    private readonly DisposeScope _scope;
    private readonly Tensor _gradOutput;
    private readonly HandedOut _handedOut;

    public BackwardScope(Tensor gradOutput)
    {
        _handedOut = _mine ??= Register(new HandedOut());
        _handedOut.Free();
        _gradOutput = gradOutput;
        _scope = NewDisposeScope();
    }

    private static HandedOut Register(HandedOut h)
    {
        lock (Threads) Threads.Add(h);
        return h;
    }

    /// <summary>The gradients to return from backward (null where an input takes none).</summary>
    public List<Tensor> HandOut(params Tensor?[] gradients)
    {
        var kept = new List<Tensor> { _gradOutput };
        foreach (var g in gradients)
            if (g is not null) kept.Add(g.DetachFromDisposeScope());
        lock (_handedOut) _handedOut.Tensors = kept;
        return [.. gradients.Select(g => g!)];
    }

    public void Dispose() => _scope.Dispose();

    /// <summary>
    /// Frees every thread's last handed-out tensors. Only once a backward pass has returned (libtorch has copied them
    /// all): without it the last custom backward's gradients (the first block's norm: two activations) stay until the
    /// next step's backward.
    /// </summary>
    public static void ReleaseAll()
    {
        lock (Threads)
            foreach (var h in Threads) h.Free();
    }

    /// <summary>Tensors held from finished backwards, over all threads (tests).</summary>
    internal static int Held
    {
        get
        {
            lock (Threads) return Threads.Sum(h => { lock (h) return h.Tensors?.Count ?? 0; });
        }
    }
}
