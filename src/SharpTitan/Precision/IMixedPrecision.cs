using static TorchSharp.torch;

namespace SharpTitan.Precision;

/// <summary>
/// Single-process mixed precision (training.mixed_precision_param below training.dtype, no data parallelism;
/// under FSDP the gathered parameters carry the compute dtype instead). Master weights and their gradients stay
/// fp32; logits are cast to fp32 before the loss. The trainer calls the hooks below around each micro-step and
/// optimizer step.
/// </summary>
internal interface IMixedPrecision : IDisposable
{
    /// <summary>The fp32 tensors the optimizer updates (their .grad receives the gradients).</summary>
    IReadOnlyList<Tensor> Masters { get; }
    /// <summary>The fp32 masters by parameter name.</summary>
    IEnumerable<(string Name, Tensor Value)> NamedMasters { get; }
    /// <summary>Wraps a training forward (and loss); null when nothing has to be switched on.</summary>
    IDisposable? Forward();
    /// <summary>After a micro-step's backward: gradients into the masters' .grad (fp32).</summary>
    void AfterBackward();
    /// <summary>After the optimizer step: the model sees the updated masters.</summary>
    void AfterStep();
    string Describe();
}
