namespace SharpTitan.Config;

/// <summary>[parallelism]: the mesh degrees and the FSDP / TP / PP / CP options.</summary>
public sealed class ParallelismSection
{
    [Doc("Model replicas for data parallelism (DDP; HSDP together with sharding).")]
    [Range(1, int.MaxValue)] public int DataParallelReplicateDegree { get; set; } = 1;
    /// <summary>-1 = the ranks the other degrees leave.</summary>
    [Doc("Ranks FSDP shards the parameters over; -1 = the ranks the other degrees leave.")]
    [Range(-1, int.MaxValue)] public int DataParallelShardDegree { get; set; } = -1;
    [Doc("Which FSDP blocks free their gathered parameters after forward: \"default\" (all but the last), \"always\" or \"never\".")]
    public ReshardPolicy FsdpReshardAfterForward { get; set; } = ReshardPolicy.Default;
    [Doc("Ranks each layer's weights are split over (tensor parallel).")]
    [Range(1, int.MaxValue)] public int TensorParallelDegree { get; set; } = 1;
    [Doc("With tensor parallel: also split the norms' activations along the sequence.")]
    public bool EnableSequenceParallel { get; set; } = true;
    [Doc("With tensor parallel: gather the logits before the loss instead of computing it on vocabulary shards.")]
    public bool DisableLossParallel { get; set; }
    [Doc("With tensor parallel: overlap its collectives with the matmuls that use them.")]
    public bool EnableAsyncTensorParallel { get; set; }
    [Doc("Ranks the model's layers are split over as pipeline stages (pp is the outermost mesh dimension).")]
    [Range(1, int.MaxValue)] public int PipelineParallelDegree { get; set; } = 1;
    [Doc("Pipeline schedule by torchtitan's name: \"GPipe\", \"1F1B\" (one stage per rank), \"Interleaved1F1B\", \"LoopedBFS\", \"InterleavedZeroBubble\" (several), \"ZBVZeroBubble\" or \"DualPipeV\" (two per rank, V-shaped).")]
    public string PipelineParallelSchedule { get; set; } = "1F1B";
    [Doc("Rows per pipeline micro-batch: the local batch is cut into local_batch_size / this micro-batches.")]
    [Range(1, int.MaxValue)] public int PipelineParallelMicrobatchSize { get; set; } = 1;
    [Doc("Transformer layers per stage (with the first and last stages' weights below); unset: one stage per rank (two for interleaved schedules).")]
    [Range(1, int.MaxValue)] public int? PipelineParallelLayersPerStage { get; set; }
    [Doc("The embedding counts as this many layers when the stages are balanced (the first stage gets that many fewer).")]
    [Range(0, int.MaxValue)] public int PipelineParallelFirstStageLessLayers { get; set; } = 1;
    [Doc("The final norm and output count as this many layers when the stages are balanced (the last stage gets that many fewer).")]
    [Range(0, int.MaxValue)] public int PipelineParallelLastStageLessLayers { get; set; } = 1;
    [Doc("Explicit pipeline split: one list of module names per model part, e.g. [[\"tok_embeddings\", \"layers.0\"], [\"layers.1\", \"norm\", \"output\"]]; unset: balanced by the keys above.")]
    public string[][]? ModuleFqnsPerModelPart { get; set; }
    [Doc("Ranks each sequence is split over (context parallel; load-balanced causal chunks; training.seq_len must divide by 2 x degree).")]
    [Range(1, int.MaxValue)] public int ContextParallelDegree { get; set; } = 1;
    [Doc("Context parallel: \"allgather\" gathers the group's keys and values before attention; \"alltoall\" passes them around the ring.")]
    public ContextParallelRotateMethod ContextParallelRotateMethod { get; set; } = ContextParallelRotateMethod.AllGather;
    [Doc("Compiled autograd for the backward (not built).")]
    public bool EnableCompiledAutograd { get; set; }
    /// <summary>
    /// FSDP overlap (not in torchtitan, where CUDA streams always overlap): prefetch the next block's all-gather
    /// and run reduce-scatters on the communication thread. false = every collective blocks (for benchmarks).
    /// </summary>
    [Doc("FSDP: prefetch the next block's all-gather and reduce-scatter on the communication thread; false = every collective blocks; not in torchtitan.")]
    public bool FsdpOverlap { get; set; } = true;
}
