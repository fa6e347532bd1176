using SharpTitan.Config;
using SharpTitan.Models.Llama3;
using static TorchSharp.torch;

namespace SharpTitan.Parallel;

/// <summary>
/// Single-process mixed precision (training.mixed_precision_param below training.dtype, no data parallelism;
/// under FSDP the gathered parameters carry the compute dtype instead). Master weights and their gradients stay
/// fp32; logits are cast to fp32 before the loss. The trainer calls the hooks below around each micro-step and
/// optimizer step.
/// </summary>
public interface IMixedPrecision : IDisposable
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

public static class MixedPrecision
{
    /// <summary>
    /// training.mixed_precision_impl: "master_copy" (the model holds bf16 parameters, the optimizer fp32 masters;
    /// see <see cref="MasterCopyPrecision"/>) or "autocast" (libtorch's CPU autocast over fp32 parameters).
    /// </summary>
    /// <returns>null when the run computes in training.dtype (fp32 params, full bf16, or data parallel).</returns>
    public static IMixedPrecision? Apply(Transformer model, TrainingSection training, ScalarType dtype, ScalarType param, bool dataParallel)
    {
        // training.dtype below fp32 is full low-precision training (torchtitan): there are no masters to keep.
        if (dataParallel || dtype != ScalarType.Float32 || param == ScalarType.Float32) return null;
        return training.MixedPrecisionImpl switch
        {
            MixedPrecisionImplementation.MasterCopy => new MasterCopyPrecision(model, param),
            MixedPrecisionImplementation.Autocast => new AutocastPrecision(model, param),
            _ => throw new ConfigException($"training.mixed_precision_impl = {training.MixedPrecisionImpl}: expected master_copy or autocast"),
        };
    }
}
