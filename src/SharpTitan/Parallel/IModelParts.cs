using SharpTitan.Distributed;
using SharpTitan.Models.Llama3;
using static TorchSharp.torch;

namespace SharpTitan.Parallel;

/// <summary>
/// The model after <see cref="Llama3Parallelize"/>: the one object the trainer, checkpointer, validator, exporter
/// and result dump talk to (torchtitan's model_parts plus what its trainer asks of parallel_dims). Everything that
/// depends on how the model is split (FSDP shards, TP blocks, fp32 masters, a pipeline's stages) stays behind it.
/// The train-step boundary is <see cref="ForwardBackward"/>: a pipeline schedule implements it by running its
/// schedule over the micro-batch (torchtitan's pp_schedule.step), the other layouts by forward, loss and backward.
/// Collective members (marked so) must be called by every rank of the job in the same order.
/// </summary>
public interface IModelParts : IDisposable
{
    /// <summary>The plain model whose modules the transforms hooked into (its parameters may be local blocks or empty between uses).</summary>
    Transformer Model { get; }

    /// <summary>Where tensors live: batches are created here.</summary>
    Device Device { get; }

    /// <summary>The dtype the matmuls run in (the MFU peak is looked up for it).</summary>
    ScalarType ComputeDtype { get; }

    /// <summary>False where MFU is not well-defined (float8, as torchtitan).</summary>
    bool ReportsMfu { get; }

    /// <summary>Elements of the parameters the data-parallel shard group holds together: the whole model's without TP, this TP rank's blocks with it.</summary>
    long TotalParameters { get; }

    /// <summary>Bytes of parameter all-gathers this rank has received so far (FSDP; its own part included; 0 without FSDP).</summary>
    long ParameterAllGatherBytes { get; }

    /// <summary>The tensors the optimizer updates (FSDP shards, fp32 masters, or the parameters themselves).</summary>
    IReadOnlyList<Tensor> OptimizerParameters { get; }

    /// <summary>
    /// One micro-batch of a step of <paramref name="accumulationSteps"/>: forward, loss (mean cross-entropy divided by
    /// the accumulation steps), backward, gradients reduced and added into <see cref="OptimizerParameters"/>' .grad.
    /// Returns this rank's divided loss. Collective.
    /// </summary>
    double ForwardBackward(Tensor inputs, Tensor labels, int accumulationSteps);

    /// <summary>The step's loss as reported: this rank's micro-batch losses summed, averaged over the data-parallel ranks. Collective.</summary>
    double ReportedLoss(double localLoss);

    /// <summary>The squared L2 norm of all gradients, every element of the global model counted once. Collective.</summary>
    double GradientSumOfSquares();

    /// <summary>After the optimizer step or a checkpoint load changed <see cref="OptimizerParameters"/>: compute copies follow. Collective.</summary>
    void ParametersUpdated();

    /// <summary>Full logits [batch, seq, vocab] in no-grad evaluation (validation). Collective.</summary>
    Tensor EvaluationLogits(Tensor tokens);

    /// <summary>Every parameter's full value by torchtitan name, in the current dispose scope (dumps, HF export). Collective.</summary>
    IReadOnlyList<(string Name, Tensor Value)> FullParameters();

    /// <summary>Every parameter's global shape by torchtitan name (what a checkpoint of this model holds).</summary>
    IReadOnlyDictionary<string, long[]> GlobalShapes { get; }

    /// <summary>
    /// The pieces of global tensors this rank holds, named <paramref name="prefix"/> + parameter name, for a list of
    /// tensors laid out as <see cref="OptimizerParameters"/> (the parameters themselves, or an optimizer moment).
    /// With <paramref name="forSave"/>, pieces another rank also holds are left to one of them (written once).
    /// </summary>
    List<StatePiece> StatePieces(string prefix, IReadOnlyList<Tensor> likeOptimizerParameters, bool forSave);

    /// <summary>Lines describing the layout, printed at start.</summary>
    IEnumerable<string> Describe();

    /// <summary>Lines printed at the end of a run (communication shares, bytes moved).</summary>
    IEnumerable<string> Summarize(int steps, TimeSpan elapsed);
}
