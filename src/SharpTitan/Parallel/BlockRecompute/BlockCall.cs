using static TorchSharp.torch;

namespace SharpTitan.Parallel;

/// <summary>
/// What one block's forward left for its backward: for a resharding block, its input (saved by the function)
/// and the rotary tables to recompute it; for a non-resharding one, the detached input and the output that
/// still carries the block's own autograd graph.
/// </summary>
internal sealed class BlockCall(IBlockOwner owner, int layer, bool recompute, Tensor cos, Tensor sin)
{
    public IBlockOwner Owner { get; } = owner;
    public int Layer { get; } = layer;
    public bool Recompute { get; } = recompute;
    public Tensor Cos { get; } = cos;
    public Tensor Sin { get; } = sin;
    /// <summary>The block's input as the caller passed it (a resharding block's function input).</summary>
    public Tensor? Input { get; set; }
    /// <summary>Non-resharding: the detached input that requires grad, the root of the block's graph.</summary>
    public Tensor? GraphInput { get; set; }
    public Tensor? Output { get; set; }
    /// <summary>Restores grad mode after a resharding block ran its forward under no_grad.</summary>
    public IDisposable? GradMode { get; set; }
    /// <summary>A recomputing block's generator and autocast state at its first forward.</summary>
    public RecomputeState? State { get; set; }
    /// <summary>What a selective-op checkpointed block kept from its first forward.</summary>
    public IDisposable? Saved { get; set; }

    public void Release()
    {
        State?.Dispose();
        Saved?.Dispose();
        State = null;
        Saved = null;
        GraphInput?.Dispose();
        Output?.Dispose();
        GraphInput = Output = null;
    }
}
