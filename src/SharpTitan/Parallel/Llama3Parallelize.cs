using SharpTitan.Config;
using SharpTitan.Distributed;
using SharpTitan.Float8;
using SharpTitan.Kernels;
using SharpTitan.Models.Llama3;
using SharpTitan.Models;
using SharpTitan.Native;
using SharpTitan.Precision;
using TorchSharp;
using static TorchSharp.torch;

namespace SharpTitan.Parallel;

/// <summary>
/// The single place where the parallel transforms are applied to a plain, initialized Llama 3 model, in torchtitan's
/// order (its models/llama3/infra/parallelize.py), after the model's fused kernels (model.norm_type): PP split -> TP -> model converters (Float8) -> async TP -> CP ->
/// activation checkpointing -> mixed precision -> FSDP/HSDP/DDP. A new parallelism is a new step here plus its part
/// of <see cref="IModelParts"/>; nothing outside Parallel/ names a concrete transform.
/// </summary>
public static class Llama3Parallelize
{
    /// <summary>Checks the config against the model shape before anything is built (one-line ConfigExceptions).</summary>
    public static void Validate(ModelArgs args, JobConfig config, ParallelDims dims)
    {
        TensorParallel.Validate(args, dims.Tp, TpOptions(config.Parallelism), config.Training.SeqLen,
            config.Validation.Enable ? config.Validation.SeqLenFor(config.Training.SeqLen) : null);
        ContextParallel.Validate(dims, dims.TpEnabled && config.Parallelism.EnableSequenceParallel, config.Training.SeqLen,
            config.Validation.Enable ? config.Validation.SeqLenFor(config.Training.SeqLen) : null);
        if (DataParallel(dims) && config.Training.Dtype.ToScalarType() != ScalarType.Float32)
            throw new ConfigException($"training.dtype = {config.Training.Dtype.ToConfigString()} with data parallelism: FSDP keeps float32 shards; set training.mixed_precision_param for the compute dtype");
        if (dims.PpEnabled) ValidatePipeline(args, config, dims);
    }

    private static PipelinePlan ValidatePipeline(ModelArgs args, JobConfig config, ParallelDims dims)
    {
        if (dims.DpEnabled && config.Parallelism.FsdpReshardAfterForward == ReshardPolicy.Always)
            throw new ConfigException("parallelism.fsdp_reshard_after_forward = \"always\" with pipeline parallel is not built yet in SharpTitan (under PP a stage's parameters stay gathered for the local batch, torchtitan's default)");
        var plan = PipelinePlan.For(args, config.Parallelism, config.Training.LocalBatchSize);
        return plan;
    }

    /// <param name="model">Built and initialized identically on every rank (same seed): each transform keeps this rank's part.</param>
    /// <param name="mesh">The device mesh when any dimension spans several ranks, else null.</param>
    public static IModelParts Apply(Transformer model, JobConfig config, ParallelDims dims, DeviceMesh? mesh, Device device, Action<string> log)
    {
        Validate(model.Args, config, dims);
        var p = config.Parallelism;
        var dtype = config.Training.Dtype.ToScalarType();
        var param = config.Training.MixedPrecisionParam.ToScalarType();
        ComputeDevice.Place(model, device);
        // 0. The fused RMSNorm (PyTorch's nn.RMSNorm is one; ours is a kernel the model's seam takes).
        if (config.Model.NormType == NormType.FusedRmsNorm) FusedRmsNorm.Install(model);

        // 1. Pipeline parallel: this pp rank keeps its stages; a schedule drives the step (with TP and FSDP/HSDP/DDP per stage).
        if (dims.PpEnabled) return ApplyPipeline(model, config, dims, mesh!, device, log);

        // 2. Tensor parallel (+ sequence and loss parallel): each rank keeps its blocks of the full weights.
        TensorParallel? tp = dims.TpEnabled ? new TensorParallel(model, mesh!.Tp, TpOptions(p)) : null;

        // 3. Model converters: Float8 sees the local shards and learns how TP split them.
        Float8Converter? float8 = Float8Options.Requested(config.Model)
            ? new Float8Converter(model, Float8Options.From(config.Float8), tp, log) : null;
        if (config.Model.PrintAfterConversion) log(ModelStructure.Describe(model, "model after conversion"));

        // 4. Async TP: wraps the installed linear kernels (Float8's included) to run on sequence pieces.
        AsyncTensorParallel? asyncTp = tp is { Options.AsyncTp: true } ? AsyncTensorParallel.Apply(model, tp) : null;

        // 5. Context parallel: each rank of the cp group attends for its load-balanced part of every sequence.
        ContextParallel? cp = dims.CpEnabled ? new ContextParallel(model, mesh!.Cp, p.ContextParallelRotateMethod) : null;

        // 6. Activation checkpointing: installed here without data parallelism; FSDP runs its blocks itself (step 8).
        var ac = ActivationCheckpointPlan.For(config.ActivationCheckpoint, model.Args.NLayers);
        var checkpointing = ActivationCheckpointing.Apply(model, ac, dataParallel: DataParallel(dims));

        // 7. Mixed precision of one process (fp32 masters); under FSDP the gathered parameters carry the compute dtype.
        //    As torchtitan: not with TP alone.
        var mixed = MixedPrecision.Apply(model, config.Training, dtype, param, dataParallel: DataParallel(dims) || dims.TpEnabled, device);

        // 8. FSDP / HSDP / DDP over the data-parallel ranks (FSDP shards over dp_shard x cp, as torchtitan); else full
        //    low-precision training converts the model.
        FsdpModel? fsdp = null;
        string? fsdpDescription = null;
        if (DataParallel(dims))
        {
            fsdp = new FsdpModel(model, mesh!, new FsdpOptions(p.FsdpReshardAfterForward, param, p.FsdpOverlap,
                BeforeReduce: tp != null ? tp.ReducePartialGradient : null, Checkpoint: ac.FullLayers,
                Float8AllGather: float8 is { Options.FsdpFloat8AllGather: true } ? float8 : null,
                PrecomputeFloat8Scales: float8?.Options.PrecomputeScales ?? false));
            fsdpDescription = $"parallelism: {dims}, dp rank {mesh!.DpRank} of {mesh.DpDegree}, fsdp_reshard_after_forward = " +
                              $"{p.FsdpReshardAfterForward.ToConfigString()}, overlap {(p.FsdpOverlap ? "on" : "off")}, " +
                              $"params in {config.Training.MixedPrecisionParam.ToConfigString()}, reduce in {config.Training.MixedPrecisionReduce.ToConfigString()}";
        }
        else if (dtype != ScalarType.Float32) model.to(dtype);
        model.train();

        var computeDtype = fsdp != null || mixed != null ? param : dtype;
        return new Llama3ModelParts(model, device, computeDtype,
            new AppliedTransforms(mesh, tp, float8, asyncTp, cp, ac, checkpointing, mixed, fsdp, fsdpDescription));
    }

    /// <summary>FSDP/DDP applies: data-parallel ranks, or context-parallel ranks sharing the shard dimension (dp_shard_cp).</summary>
    private static bool DataParallel(ParallelDims dims) => dims.DpEnabled || dims.CpEnabled;

    /// <summary>
    /// Pipeline parallel: the split, TP, float8, async TP, CP, activation checkpointing of the blocks, then either data
    /// parallelism over each stage's parameters (sharded over dp_shard x cp, computing in training.mixed_precision_param,
    /// fp32 shards) or, without it, full
    /// low-precision training when training.dtype asks for it (as torchtitan, mixed precision needs FSDP).
    /// </summary>
    private static PipelineModelParts ApplyPipeline(Transformer model, JobConfig config, ParallelDims dims, DeviceMesh mesh, Device device, Action<string> log)
    {
        var plan = ValidatePipeline(model.Args, config, dims);
        TensorParallel? tp = dims.TpEnabled ? new TensorParallel(model, mesh.Tp, TpOptions(config.Parallelism)) : null;
        Float8Converter? float8 = Float8Options.Requested(config.Model)
            ? new Float8Converter(model, Float8Options.From(config.Float8), tp, log) : null;
        if (config.Model.PrintAfterConversion) log(ModelStructure.Describe(model, "model after conversion"));
        AsyncTensorParallel? asyncTp = tp is { Options.AsyncTp: true } ? AsyncTensorParallel.Apply(model, tp) : null;
        ContextParallel? cp = dims.CpEnabled ? new ContextParallel(model, mesh.Cp, config.Parallelism.ContextParallelRotateMethod) : null;
        var ac = ActivationCheckpointPlan.For(config.ActivationCheckpoint, model.Args.NLayers);
        var checkpointing = ActivationCheckpointing.Apply(model, ac, dataParallel: false);
        var dtype = config.Training.Dtype.ToScalarType();
        bool shard = DataParallel(dims);
        if (!shard && dtype != ScalarType.Float32) model.to(dtype);
        var computeDtype = shard ? config.Training.MixedPrecisionParam.ToScalarType() : dtype;
        model.train();
        return new PipelineModelParts(model, device, computeDtype, plan, mesh, checkpointing, shard, overlap: config.Parallelism.FsdpOverlap, tp, float8, cp, asyncTp,
            recomputes: checkpointing is null ? null : layer => ac.Op || ac.FullLayers[layer]);
    }

    private static TensorParallelOptions TpOptions(ParallelismSection p) =>
        new(p.EnableSequenceParallel, !p.DisableLossParallel, p.EnableAsyncTensorParallel);
}
