using SharpTitan.Config;
using SharpTitan.Models.Llama3;
using SharpTitan.Native;
using static TorchSharp.torch;

namespace SharpTitan.Precision;

/// <summary>
/// Mixed precision by libtorch's autocast on the job's device (torchtitan's choice without FSDP): parameters stay fp32 and are the
/// masters; inside the forward, linears and matmuls cast their inputs to the compute dtype (each weight once per
/// forward, cached), norms and the loss stay fp32, and the casts' backward returns fp32 gradients. Backward runs
/// outside autocast, as PyTorch recommends; recomputed blocks switch it back on (<see cref="Parallel.RecomputeState"/>).
/// </summary>
internal sealed class AutocastPrecision(Transformer model, ScalarType dtype, Device device) : IMixedPrecision
{
    private readonly List<(string Name, Tensor Value)> _named = model.named_parameters().Select(p => (p.name, (Tensor)p.parameter)).ToList();

    public IReadOnlyList<Tensor> Masters => _named.Select(p => p.Value).ToList();
    public IEnumerable<(string Name, Tensor Value)> NamedMasters => _named;
    public IDisposable? Forward() => Autocast.Enable(dtype, device.type);
    public void AfterBackward() { }
    public void AfterStep() { }
    public string Describe() => $"mixed precision: libtorch {device.type} autocast to {dtype.TorchName()} over float32 parameters (autocast)";
    public void Dispose() { }
}
