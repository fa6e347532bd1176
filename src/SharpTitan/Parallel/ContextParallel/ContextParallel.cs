using SharpTitan.Config;
using SharpTitan.Distributed;
using SharpTitan.Models.Llama3;
using static TorchSharp.torch;

namespace SharpTitan.Parallel;

/// <summary>
/// Context parallel applied to a plain <see cref="Transformer"/>: each rank of the cp group runs the model on its
/// load-balanced part of every sequence (<see cref="LoadBalancedLayout"/>). Installed from outside the model: each
/// attention's sdpa becomes a <see cref="ContextParallelAttention"/>, and a forward pre-hook on each block hands it
/// the rotary tables of this rank's true positions. The inputs and labels are sharded by <see cref="ShardSequence"/>.
/// </summary>
internal sealed class ContextParallel : IDisposable
{
    private readonly List<Action> _removeHooks = [];
    private readonly Tensor _cos, _sin;
    private (long SeqLen, Tensor Cos, Tensor Sin)? _tables;

    public IProcessGroup Group { get; }
    public LoadBalancedLayout Layout { get; }
    public ContextParallelRotateMethod Method { get; }

    public ContextParallel(Transformer model, IProcessGroup group, ContextParallelRotateMethod method)
    {
        (Group, Method) = (group, method);
        Layout = new LoadBalancedLayout(group.Size, group.Rank);
        (_cos, _sin) = RotaryEmbedding.Tables(model.Args, model.Args.MaxSeqLen);
        foreach (var block in model.layers)
        {
            block.attention.sdpa = new ContextParallelAttention(group, Layout, method);
            var hook = block.register_forward_pre_hook((_, x, _, _) => (x, _tables!.Value.Cos, _tables.Value.Sin));
            _removeHooks.Add(hook.remove);
        }
    }

    /// <summary>
    /// One-line errors for sequence lengths that do not split into 2 x degree chunks (each of whose halves sequence
    /// parallel then splits over the TP ranks).
    /// </summary>
    public static void Validate(ParallelDims dims, bool sequenceParallel, int seqLen, int? validationSeqLen)
    {
        if (!dims.CpEnabled) return;
        int tp = sequenceParallel ? dims.Tp : 1;
        LoadBalancedLayout.Validate(seqLen, dims.Cp, tp, "training.seq_len");
        if (validationSeqLen is { } v) LoadBalancedLayout.Validate(v, dims.Cp, tp, "validation.seq_len");
    }

    /// <summary>
    /// This rank's part of a batch of sequences [batch, seq] (inputs or labels); the model's next forward uses the
    /// rotary positions of that part.
    /// </summary>
    public Tensor ShardSequence(Tensor tokens)
    {
        long seqLen = tokens.shape[1];
        if (_tables?.SeqLen != seqLen)
        {
            DisposeTables();
            using var positions = tensor(Layout.Positions(seqLen));
            _tables = (seqLen, Select(_cos, positions, tokens.device), Select(_sin, positions, tokens.device));
        }
        return Layout.Shard(tokens, 1);
    }

    /// <summary>Every rank's part of <paramref name="local"/> [batch, local seq, ...] in global order (no autograd: evaluation).</summary>
    public Tensor GatherSequence(Tensor local) =>
        Layout.Unshard(TpComm.AllGather(local, Group, 1), 1);

    private static Tensor Select(Tensor table, Tensor positions, Device device)
    {
        var rows = table.index_select(0, positions).DetachFromDisposeScope();
        if (rows.device_type == device.type && rows.device_index == device.index) return rows;
        using (rows) return rows.to(device).DetachFromDisposeScope();
    }

    private void DisposeTables()
    {
        _tables?.Cos.Dispose();
        _tables?.Sin.Dispose();
        _tables = null;
    }

    public string Describe() =>
        $"context parallel: degree {Group.Size}, rotate method {Method.ToConfigString()}, rank {Group.Rank} holds sequence chunks {Layout.ChunksOf(Group.Rank).Low} and {Layout.ChunksOf(Group.Rank).High} of {2 * Group.Size}";

    public void Dispose()
    {
        foreach (var remove in _removeHooks) remove();
        DisposeTables();
        _cos.Dispose();
        _sin.Dispose();
    }
}
