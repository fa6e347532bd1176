using SharpTitan.Config;
using SharpTitan.Models.Llama3;
using TorchSharp;
using Parameter = TorchSharp.Modules.Parameter;
using static TorchSharp.torch;

namespace SharpTitan.Precision;

/// <summary>
/// Mixed precision by a low-precision copy: the model's parameters are converted to the compute dtype once, the
/// optimizer updates fp32 masters; after each micro-step the bf16 gradients are added into the masters' fp32 .grad
/// (and cleared, so micro-steps accumulate in fp32), after each optimizer step the masters are cast into the
/// model's parameters (in place: hooks and transforms keep their Parameter objects).
/// </summary>
internal sealed class MasterCopyPrecision : IMixedPrecision
{
    private readonly (string Name, Parameter Param, Tensor Master)[] _entries;
    private readonly ScalarType _dtype;

    public IReadOnlyList<Tensor> Masters { get; }
    public IEnumerable<(string Name, Tensor Value)> NamedMasters => _entries.Select(e => (e.Name, e.Master));

    public MasterCopyPrecision(Transformer model, ScalarType dtype)
    {
        _dtype = dtype;
        var masters = new List<(string, Tensor)>();
        using (no_grad())
            foreach (var (name, p) in model.named_parameters())
                masters.Add((name, p.detach().clone().requires_grad_(true).DetachFromDisposeScope()));
        model.to(dtype); // replaces the Parameter objects: read them back after the conversion
        var current = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        _entries = masters.Select(m => (m.Item1, current[m.Item1], m.Item2)).ToArray();
        Masters = _entries.Select(e => e.Master).ToList();
    }

    public IDisposable? Forward() => null;

    public void AfterBackward()
    {
        using var _ = no_grad();
        foreach (var (_, p, master) in _entries)
        {
            // A scope per parameter: the wrapper p.grad hands out holds the bf16 gradient, so in one scope around the
            // loop every bf16 gradient would stay alive beside all the fp32 ones until the loop ends.
            using var scope = NewDisposeScope();
            if (p.grad is not { } g) continue;
            if (master.grad is { } mg) mg.add_(g.to(ScalarType.Float32));
            else master.grad = g.to(ScalarType.Float32);
            p.grad = null;
        }
    }

    public void AfterStep()
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        foreach (var (_, p, master) in _entries) p.copy_(master);
    }

    public string Describe() => $"mixed precision: {_dtype.TorchName()} compute on a {_dtype.TorchName()} copy of the parameters, float32 master weights, gradients and optimizer state; logits and loss float32 (master_copy)";

    public void Dispose()
    {
        foreach (var e in _entries) e.Master.Dispose();
    }
}
