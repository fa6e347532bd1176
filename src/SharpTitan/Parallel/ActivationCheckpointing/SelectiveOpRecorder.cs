using SharpTitan.Models.Llama3;
using static TorchSharp.torch;

namespace SharpTitan.Parallel;

/// <summary>
/// Selective op activation checkpointing, on top of <see cref="CheckpointedBlocks"/> (every block runs its first
/// forward under no_grad and recomputes in backward). Hooks on each block's linears and attention:
/// <list type="bullet">
/// <item>First forward: attention runs with grad on detached q, k, v, and its small graph is kept (q, k, v,
/// output, softmax statistics); the outputs of wo, w1 and w3 are kept. Nothing else of the block survives.</item>
/// <item>Recompute: norms, RoPE, the key/value repeat, SiLU, the products and the residual adds run again with
/// grad (cheap); each linear and the attention run on one token only (their output is discarded) and hand back
/// the kept value through <see cref="ReplayLinearFunction"/> / <see cref="ReplayAttentionFunction"/>, whose
/// backward is the op's own. No matmul is recomputed.</item>
/// </list>
/// wq, wk, wv and w2 keep nothing: no backward formula reads their outputs (RoPE and the repeat are linear,
/// attention's backward uses its kept inputs, w2's output only feeds the residual add), so zeros stand in.
/// torchtitan's op policy instead keeps every other matmul output and recomputes the rest; this one keeps a
/// little more (attention's inputs) and recomputes no matmul.
/// </summary>
internal sealed class SelectiveOpRecorder : IDisposable
{
    private enum Mode { Off, Recording, Replaying }

    private static readonly HashSet<string> ValueNeeded = ["attention.wo", "feed_forward.w1", "feed_forward.w3"];

    private readonly List<Action> _removeHooks = [];
    private Mode _mode;
    private OpRecord? _record;
    private IDisposable? _gradMode;

    public SelectiveOpRecorder(Transformer model)
    {
        foreach (var block in model.layers)
        {
            var a = block.attention;
            var f = block.feed_forward;
            foreach (var (name, linear) in new[] { ("attention.wq", a.wq), ("attention.wk", a.wk), ("attention.wv", a.wv),
                         ("attention.wo", a.wo), ("feed_forward.w1", f.w1), ("feed_forward.w2", f.w2), ("feed_forward.w3", f.w3) })
            {
                var pre = linear.register_forward_pre_hook((_, u) => LinearPre(name, u)!); // null: input unchanged
                var post = linear.register_forward_hook((_, _, y) => LinearPost(name, linear, y));
                _removeHooks.Add(pre.remove);
                _removeHooks.Add(post.remove);
            }
            var sp = a.sdpa.register_forward_pre_hook((_, q, k, v) => AttentionPre(q, k, v));
            var so = a.sdpa.register_forward_hook((_, _, _, _, o) => AttentionPost(o));
            _removeHooks.Add(sp.remove);
            _removeHooks.Add(so.remove);
        }
    }

    /// <summary>The first forward of a block begins: what it keeps goes into the returned record.</summary>
    public IDisposable BeginForward()
    {
        _record = new OpRecord();
        _mode = Mode.Recording;
        return _record;
    }

    /// <summary>A block's recompute begins, replaying <paramref name="saved"/> (from <see cref="BeginForward"/>).</summary>
    public void BeginRecompute(IDisposable saved)
    {
        _record = (OpRecord)saved;
        _mode = Mode.Replaying;
    }

    public void End()
    {
        _mode = Mode.Off;
        _record = null;
    }

    private Tensor? LinearPre(string name, Tensor u)
    {
        if (_mode != Mode.Replaying) return null;
        _record!.Inputs[name] = u;
        _gradMode = no_grad();
        return u.narrow(u.dim() - 2, 0, 1); // one token: the real output comes from the record
    }

    private Tensor LinearPost(string name, LinearLayer linear, Tensor y)
    {
        if (_mode == Mode.Recording)
        {
            if (ValueNeeded.Contains(name)) _record!.Values[name] = y.detach().DetachFromDisposeScope();
            return y;
        }
        if (_mode != Mode.Replaying) return y;
        _gradMode!.Dispose();
        _gradMode = null;
        var u = _record!.Inputs[name];
        var value = _record.Values.TryGetValue(name, out var kept) ? kept
            : zeros([.. u.shape[..^1], linear.OutFeatures], u.dtype, device: u.device);
        return ReplayLinearFunction.Apply(u, linear.weight, value);
    }

    private (Tensor, Tensor, Tensor)? AttentionPre(Tensor q, Tensor k, Tensor v)
    {
        if (_mode == Mode.Recording)
        {
            _gradMode = enable_grad();
            var kept = new KeptAttention(Leaf(q), Leaf(k), Leaf(v));
            _record!.Attention.Add(kept);
            return (kept.Q, kept.K, kept.V);
        }
        if (_mode != Mode.Replaying) return null;
        _record!.Pending = (q, k, v);
        _gradMode = no_grad();
        return (q.narrow(2, 0, 1), k.narrow(2, 0, 1), v.narrow(2, 0, 1));
    }

    private static Tensor Leaf(Tensor t) => t.detach().requires_grad_(true).DetachFromDisposeScope();

    private Tensor AttentionPost(Tensor output)
    {
        if (_mode == Mode.Off) return output;
        _gradMode!.Dispose();
        _gradMode = null;
        if (_mode == Mode.Recording)
        {
            _record!.Attention[^1].Output = output.DetachFromDisposeScope();
            return output.detach(); // the block's own first forward carries no graph
        }
        var (q, k, v) = _record!.Pending;
        return ReplayAttentionFunction.Apply(q, k, v, _record.Attention[_record.Replayed++]);
    }

    public void Dispose()
    {
        foreach (var remove in _removeHooks) remove();
        _removeHooks.Clear();
    }

    /// <summary>What one block's first forward kept.</summary>
    private sealed class OpRecord : IDisposable
    {
        public Dictionary<string, Tensor> Values { get; } = [];
        public List<KeptAttention> Attention { get; } = [];
        public Dictionary<string, Tensor> Inputs { get; } = []; // recompute only: handles owned by its scope
        public (Tensor, Tensor, Tensor) Pending { get; set; }
        public int Replayed { get; set; }

        public void Dispose()
        {
            foreach (var t in Values.Values) t.Dispose();
            foreach (var a in Attention) a.Dispose();
            Values.Clear();
            Attention.Clear();
            Inputs.Clear();
        }
    }
}
