using SharpTitan.Distributed;
using SharpTitan.Float8;
using SharpTitan.Models.Llama3;
using TorchSharp;
using static TorchSharp.torch;

namespace SharpTitan.Parallel;

/// <summary>
/// FSDP applied to a plain <see cref="Transformer"/> (FSDP2's layout): each TransformerBlock is one unit and
/// tok_embeddings + norm + output form the root unit. Parameters are sharded over the mesh's dp_shard_cp group;
/// with dp_replicate > 1 the averaged gradient shards are also all-reduced across dp_replicate (HSDP; with shard
/// degree 1 that is DDP). Blocks are driven by module forward hooks (the model calls its blocks through
/// Module.call); see <see cref="Parallel.ReshardAfterForward"/> for what each reshard policy does.
/// With <see cref="FsdpOptions.Overlap"/>, the next block's all-gather is issued before the current block
/// computes (forward and backward) and reduce-scatters run on the communication thread until the step's end.
/// </summary>
internal sealed class FsdpModel : BlockNodes
{
    private readonly FsdpUnit _root;
    private readonly FsdpUnit[] _blocks;
    private readonly bool[] _reshard, _recompute;
    private readonly BlockCall?[] _calls;
    private readonly FsdpOptions _options;
    private readonly IProcessGroup _shardGroup;
    private bool _float8ScalesStale = true;

    /// <summary>The tensors the optimizer updates: this rank's fp32 shard of each unit.</summary>
    public IReadOnlyList<Tensor> Shards { get; }
    public long TotalParameters { get; }
    /// <summary>For each of <see cref="Shards"/>: its parameters' places in the unit's flat buffer and the shard's start.</summary>
    public IReadOnlyList<FsdpShardLayout> ShardLayouts { get; }
    /// <summary>False on dp_replicate ranks other than the first: their shards duplicate another rank's.</summary>
    public bool OwnsShards { get; }
    public long LocalParameters => Shards.Sum(s => s.numel());
    /// <summary>Bytes this rank's parameter all-gathers have received so far (its own parts included).</summary>
    public long AllGatherBytes => _blocks.Sum(b => b.AllGatherBytes) + _root.AllGatherBytes;

    /// <summary>Shards an initialized fp32 model (identical on every rank) and takes it over.</summary>
    public FsdpModel(Transformer model, DeviceMesh mesh, FsdpOptions options) : base(model, Enumerable.Range(0, model.layers.Count))
    {
        _options = options;
        var shard = mesh.DpShardCp;
        var replicate = mesh.DpReplicate;
        _shardGroup = shard;
        int n = model.layers.Count;

        var rootNames = new[] { "tok_embeddings.", "norm.", "output." };
        var named = model.named_parameters().ToList();
        var blockNames = Enumerable.Range(0, n).Select(i => $"layers.{i}.").ToArray();
        List<string> Select(string prefix) => named.Where(p => p.name.StartsWith(prefix)).Select(p => p.name).ToList();
        var groups = new List<(string Unit, List<string> Names)> { ("root", rootNames.SelectMany(Select).ToList()) };
        groups.AddRange(blockNames.Select((p, i) => ($"layers.{i}", Select(p))));
        if (groups.Sum(g => g.Names.Count) != named.Count)
            throw new InvalidOperationException("FSDP: some parameters belong to no unit (expected tok_embeddings, layers.N, norm, output)");

        // Full fp32 values first: converting the model to the compute dtype replaces its parameters.
        var values = new List<Tensor>();
        using (no_grad())
            foreach (var (_, names) in groups)
            {
                using var scope = NewDisposeScope();
                var byName = named.ToDictionary(p => p.name, p => p.parameter);
                values.Add(cat(names.Select(x => byName[x].detach().to(ScalarType.Float32).reshape(-1)).ToList(), 0).DetachFromDisposeScope());
            }
        if (options.ParamDtype != ScalarType.Float32) model.to(options.ParamDtype);
        var current = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var units = groups.Select((g, i) => new FsdpUnit(g.Unit, g.Names.Select(x => (x, current[x])).ToList(), values[i],
            shard, replicate, options.ParamDtype, options.Overlap, options.BeforeReduce, options.Float8AllGather)).ToList();
        foreach (var u in units) if (u.Float8 is { } f) f.ScalesPrecomputed = options.PrecomputeFloat8Scales;
        foreach (var v in values) v.Dispose();
        TotalParameters = units.Sum(u => u.Numel);
        _root = units[0];
        _blocks = [.. units.Skip(1)];
        _reshard = Enumerable.Range(0, n).Select(i => ReshardAfterForward.ForBlock(options.ReshardAfterForward, i, n)).ToArray();
        if (shard.Size == 1) Array.Fill(_reshard, false); // DDP: nothing to free, so nothing to recompute
        _recompute = _reshard.Select((r, i) => r || (options.Checkpoint?[i] ?? false)).ToArray();
        _calls = new BlockCall?[n];
        Shards = units.Select(u => u.Shard).ToList();
        ShardLayouts = units.Select(u => new FsdpShardLayout(u.Layout.ToList(), u.ShardStart, u.ShardNumel)).ToList();
        OwnsShards = replicate.Rank == 0;
    }

    /// <summary>The run summary's line of parameter all-gather traffic (tests read it).</summary>
    public static string AllGatherSummary(long bytes, int steps, bool float8Weights) =>
        $"fsdp: {bytes / steps:N0} bytes of parameter all-gathers per rank per step" + (float8Weights ? " (float8 weights)" : "");

    /// <summary>Per-rank sizes, in elements: parameters (the shards), their gradients, and AdamW's two moments.</summary>
    public string MemorySummary() =>
        $"fsdp: this rank holds {LocalParameters:N0} of {TotalParameters:N0} parameters ({_root.Name} + {_blocks.Length} blocks, " +
        $"shard degree {_root.PaddedNumel / _root.ShardNumel}); gradients {LocalParameters:N0}, optimizer state {2 * LocalParameters:N0} elements";

    /// <summary>Logits for tokens. The root's parameters stay gathered until <see cref="FinishBackward"/>.</summary>
    public Tensor Forward(Tensor tokens)
    {
        if (_float8ScalesStale && _options.PrecomputeFloat8Scales) PrecomputeFloat8Scales();
        _root.Gather();
        if (_options.Overlap && _blocks.Length > 0) _blocks[0].StartGather();
        var logits = Model.forward(tokens);
        if (!is_grad_enabled()) FreeAll(); // evaluation: no backward follows
        return logits;
    }

    /// <summary>
    /// The scales of every float8 weight FSDP gathers, from one all-reduce (max) of their amaxes over the shard
    /// group (torchao's precompute_float8_dynamic_scale_for_fsdp). Call after each optimizer step (all ranks);
    /// the first forward calls it when nothing has yet.
    /// </summary>
    public void PrecomputeFloat8Scales()
    {
        if (!_options.PrecomputeFloat8Scales) return;
        Float8ScalePrecompute.Run(new[] { _root }.Concat(_blocks), _shardGroup, _options.Float8AllGather!);
        _float8ScalesStale = false;
    }

    /// <summary>After loss.backward(): reduces the root's gradients, waits for every reduce-scatter, frees.</summary>
    public void FinishBackward()
    {
        _root.StartReduceFromParameterGrads();
        foreach (var b in _blocks) b.FinishReduce();
        _root.FinishReduce();
        FreeAll();
    }

    private void FreeAll()
    {
        ReleaseGradInput();
        for (int i = 0; i < _calls.Length; i++) { _calls[i]?.Release(); _calls[i] = null; }
        foreach (var b in _blocks) b.Free();
        _root.Free();
    }

    protected override (Tensor, Tensor, Tensor)? PreForward(int layer, Tensor x, Tensor cos, Tensor sin)
    {
        if (_options.Overlap && layer + 1 < _blocks.Length) _blocks[layer + 1].StartGather();
        _blocks[layer].Gather();
        if (!is_grad_enabled()) { _calls[layer] = null; return null; }
        var call = new BlockCall(this, layer, _recompute[layer], cos, sin) { Input = x };
        _calls[layer] = call;
        if (call.Recompute)
        {
            BeginRecomputingForward(call);
            return null;
        }
        call.GraphInput = x.detach().requires_grad_(true).DetachFromDisposeScope();
        return (call.GraphInput, cos, sin);
    }

    protected override Tensor PostForward(int layer, Tensor output)
    {
        var call = _calls[layer];
        if (call == null)
        {
            if (_reshard[layer]) _blocks[layer].Free();
            return output;
        }
        // A recomputing block that keeps its parameters (activation checkpointing) recomputes with them.
        if (call.Recompute && _reshard[layer]) _blocks[layer].Free();
        return EndForward(call, output);
    }

    /// <summary>The backward of block <c>call.Layer</c>; returns the gradient of its input.</summary>
    public override Tensor BlockBackward(BlockCall call, Tensor? savedInput, Tensor gradOutput)
    {
        ReleaseGradInput(); // the engine has consumed the previous block's returned gradient by now
        var unit = _blocks[call.Layer];
        using var scope = NewDisposeScope();
        Tensor graphInput, output;
        if (call.Recompute)
        {
            unit.Gather();
            if (_options.Overlap && call.Layer > 0 && _reshard[call.Layer - 1]) _blocks[call.Layer - 1].StartGather();
            (graphInput, output) = Recompute(call, savedInput!, x => Model.layers[call.Layer].forward(x, call.Cos, call.Sin));
        }
        else
        {
            graphInput = call.GraphInput!;
            output = call.Output!;
        }
        var grads = Gradients(output, graphInput, unit.Parameters, gradOutput);
        unit.StartReduce(grads.Skip(1).ToList());
        unit.Free();
        call.Release();
        _calls[call.Layer] = null;
        return KeepGradInput(grads[0]);
    }

    /// <summary>Each parameter's gradient slice in this rank's shards (after <see cref="FinishBackward"/>).</summary>
    public IEnumerable<(string Name, Tensor Grad)> ShardGradients()
    {
        foreach (var u in new[] { _root }.Concat(_blocks))
            if (u.Shard.grad is { } g)
                foreach (var (name, start, count) in u.ShardSegments()) yield return (name, g.narrow(0, start, count));
    }

    /// <summary>
    /// The pieces of global tensors in <paramref name="likeShards"/> (the shards, or optimizer moments laid out as
    /// them), named <paramref name="prefix"/> + parameter name; padding is never a piece. <paramref name="place"/> maps a
    /// parameter's local shape to its global shape and block (tensor parallel); <paramref name="skip"/> leaves parameters out.
    /// </summary>
    public IEnumerable<StatePiece> StatePieces(string prefix, IReadOnlyList<Tensor> likeShards,
        Func<string, long[], (long[] Shape, TensorBlock? Block)> place, Func<string, bool> skip)
    {
        for (int i = 0; i < ShardLayouts.Count; i++)
        {
            var layout = ShardLayouts[i];
            var flat = likeShards[i].detach();
            long start = layout.Start, end = layout.Start + layout.Length;
            foreach (var (name, localShape, offset, numel) in layout.Parameters)
            {
                long lo = Math.Max(start, offset), hi = Math.Min(end, offset + numel);
                if (lo >= hi || skip(name)) continue;
                var (shape, block) = place(name, localShape);
                yield return new StatePiece(prefix + name, shape, flat, lo - start, lo - offset, hi - lo, block);
            }
        }
    }

    /// <summary>Every parameter's full fp32 value by torchtitan name (collective: all ranks must call).</summary>
    public IEnumerable<(string Name, Tensor Value)> FullParameters() =>
        new[] { _root }.Concat(_blocks).SelectMany(u => u.FullParameters()).ToList();

    public override void Dispose()
    {
        base.Dispose();
        FreeAll();
        _root.Dispose();
        foreach (var b in _blocks) b.Dispose();
    }
}
