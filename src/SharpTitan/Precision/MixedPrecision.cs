using SharpTitan.Config;
using SharpTitan.Models.Llama3;
using static TorchSharp.torch;

namespace SharpTitan.Precision;

/// <summary>Chooses the single-process mixed-precision implementation (a step of <c>Llama3Parallelize</c>).</summary>
internal static class MixedPrecision
{
    /// <summary>
    /// training.mixed_precision_impl: "master_copy" (the model holds bf16 parameters, the optimizer fp32 masters;
    /// see <see cref="MasterCopyPrecision"/>) or "autocast" (libtorch's autocast on the job's device over fp32 parameters).
    /// </summary>
    /// <returns>null when the run computes in training.dtype (fp32 params, full bf16, or data parallel).</returns>
    public static IMixedPrecision? Apply(Transformer model, TrainingSection training, ScalarType dtype, ScalarType param, bool dataParallel, Device device)
    {
        // training.dtype below fp32 is full low-precision training (torchtitan): there are no masters to keep.
        if (dataParallel || dtype != ScalarType.Float32 || param == ScalarType.Float32) return null;
        return training.MixedPrecisionImpl switch
        {
            MixedPrecisionImplementation.MasterCopy => new MasterCopyPrecision(model, param),
            MixedPrecisionImplementation.Autocast => new AutocastPrecision(model, param, device),
            _ => throw new ConfigException($"training.mixed_precision_impl = {training.MixedPrecisionImpl}: expected master_copy or autocast"),
        };
    }
}
