namespace SharpTitan.Config;

// The config sections and keys, named as torchtitan names them (PascalCase here, snake_case in TOML and on the
// command line: DumpFolder <-> dump_folder). Defaults are torchtitan's unless a comment says why not. Every key
// carries a [Doc] line (its meaning, shown by `sharptitan config --help`); keys whose values are a fixed set of
// strings are enums (their config strings: see ConfigEnum).

public sealed class JobSection
{
    [Doc("Folder for the job's outputs: metrics.jsonl, TensorBoard files, traces, checkpoints, rank logs.")]
    public string DumpFolder { get; set; } = "./outputs";
    [Doc("Free text naming the job; shown in the printed config.")]
    public string Description { get; set; } = "default job";
    [Doc("Print the effective config at the start of training (rank 0).")]
    public bool PrintConfig { get; set; }
}

public sealed class ModelSection
{
    [Doc("The model family.")]
    public ModelName Name { get; set; } = ModelName.Llama3;
    [Doc("The model size: debugmodel, 1B, 3B, 8B, 70B, 405B (and tiny, a test-size model).")]
    public string Flavor { get; set; } = "debugmodel";
    /// <summary>A tokenizer file: the project's byte-level JSON, a tiktoken model, or a Hugging Face tokenizer.json.</summary>
    [Doc("The tokenizer: the byte-level JSON, a tiktoken model, a Hugging Face tokenizer.json, or cl100k_base; the vocabulary size follows it.")]
    public string TokenizerPath { get; set; } = "./assets/tokenizer/byte_tokenizer.json";
    /// <summary>Model converters applied after building the model, e.g. "float8".</summary>
    [Doc("Converters applied to the model after it is built, e.g. [\"float8\"].")]
    public ModelConverter[] Converters { get; set; } = [];
    [Doc("Log the model's modules after the converters are applied.")]
    public bool PrintAfterConversion { get; set; }
}

public sealed class OptimizerSection
{
    [Doc("\"AdamW\" (decoupled weight decay) or \"Adam\" (L2 decay added to the gradient).")]
    public OptimizerName Name { get; set; } = OptimizerName.AdamW;
    [Doc("Peak learning rate (the schedule scales it).")]
    [Range(0, 10)] public double Lr { get; set; } = 8e-4;
    [Doc("Decay rate of the gradient's running mean.")]
    [Range(0, 1)] public double Beta1 { get; set; } = 0.9;
    [Doc("Decay rate of the squared gradient's running mean.")]
    [Range(0, 1)] public double Beta2 { get; set; } = 0.95;
    [Doc("Added to the denominator for numerical stability.")]
    [Range(0, 1)] public double Eps { get; set; } = 1e-8;
    [Doc("Weight decay coefficient.")]
    [Range(0, 10)] public double WeightDecay { get; set; } = 0.1;
    /// <summary>
    /// SharpTitan's AdamW updates one parameter after another: that is "for-loop", so it is the default here
    /// (torchtitan's default "fused" and "foreach" are refused as not built).
    /// </summary>
    [Doc("How the optimizer runs over the parameters: \"for-loop\" (SharpTitan's one implementation, so the default here); \"fused\" (torchtitan's default) and \"foreach\" are not built.")]
    public OptimizerImplementation Implementation { get; set; } = OptimizerImplementation.ForLoop;
    [Doc("Step each parameter as soon as its gradient is ready, freeing gradients early (not built).")]
    public bool EarlyStepInBackward { get; set; }
}

public sealed class LrSchedulerSection
{
    [Doc("Steps of linear warmup to the peak lr.")]
    [Range(0, int.MaxValue)] public int WarmupSteps { get; set; } = 200;
    /// <summary>Share of steps spent decaying (warmup-stable-decay); unset = decay right after warmup.</summary>
    [Doc("Share of the steps spent decaying at the end (warmup-stable-decay); unset = decay right after warmup.")]
    [Range(0, 1)] public double? DecayRatio { get; set; }
    [Doc("Shape of the decay: \"linear\", \"sqrt\" or \"cosine\".")]
    public LrDecayType DecayType { get; set; } = LrDecayType.Linear;
    [Doc("The lr at the end of decay, as a share of the peak lr.")]
    [Range(0, 1)] public double MinLrFactor { get; set; }
}

public sealed class TrainingSection
{
    [Doc("Dataset name (sample, c4, c4_test, c4_validation) or a path (file, folder or glob).")]
    public string Dataset { get; set; } = "c4_test";
    [Doc("Where the dataset's files are; unset = the dataset name's default location.")]
    public string? DatasetPath { get; set; }
    /// <summary>The JSON / parquet field holding a document's text (also used by [validation]). Not in torchtitan.</summary>
    [Doc("The JSON / parquet field holding a document's text (also for [validation]); not in torchtitan.")]
    public string DatasetTextField { get; set; } = "text";
    /// <summary>How a .txt file splits into documents: "file" (one each) or "blank_lines" (one per block). Not in torchtitan.</summary>
    [Doc("How a .txt file splits into documents: \"file\" (one each) or \"blank_lines\" (one per blank-line block); not in torchtitan.")]
    public TxtDocumentSplit DatasetTxtSplit { get; set; } = TxtDocumentSplit.File;
    [Doc("Sequences per micro-batch on each data-parallel rank.")]
    [Range(1, int.MaxValue)] public int LocalBatchSize { get; set; } = 8;
    /// <summary>-1 = local_batch_size x data-parallel degree; larger multiples accumulate gradients.</summary>
    [Doc("Sequences per optimizer step over all ranks; -1 = local_batch_size x data-parallel degree; larger multiples accumulate gradients.")]
    [Range(-1, int.MaxValue)] public int GlobalBatchSize { get; set; } = -1;
    [Doc("Tokens per sequence.")]
    [Range(1, int.MaxValue)] public int SeqLen { get; set; } = 2048;
    [Doc("Gradient clipping: the largest global L2 norm of the gradients.")]
    [Range(0, double.MaxValue)] public double MaxNorm { get; set; } = 1.0;
    [Doc("Optimizer steps to train.")]
    [Range(1, int.MaxValue)] public int Steps { get; set; } = 10000;
    [Doc("Keep parameters, gradients and optimizer state in CPU memory (not built).")]
    public bool EnableCpuOffload { get; set; }
    [Doc("Dtype of the parameters: float32, or bfloat16 for full-bf16 training.")]
    [OneOf("float32", "bfloat16")] public Dtype Dtype { get; set; } = Dtype.Float32;
    [Doc("Compute dtype under mixed precision (FSDP's gathered parameters; one process: see mixed_precision_impl).")]
    [OneOf("float32", "bfloat16")] public Dtype MixedPrecisionParam { get; set; } = Dtype.BFloat16;
    [Doc("Dtype of FSDP's gradient reductions.")]
    [OneOf("float32")] public Dtype MixedPrecisionReduce { get; set; } = Dtype.Float32;
    /// <summary>
    /// Single-process mixed precision (not in torchtitan, which uses autocast): "master_copy" (a bf16 copy of the
    /// parameters, fp32 masters; measured faster here) or "autocast" (libtorch's CPU autocast).
    /// </summary>
    [Doc("Single-process mixed precision: \"master_copy\" (low-precision parameter copies, fp32 masters) or \"autocast\" (libtorch's CPU autocast); not in torchtitan.")]
    public MixedPrecisionImplementation MixedPrecisionImpl { get; set; } = MixedPrecisionImplementation.MasterCopy;
    [Doc("Steps between garbage collections.")]
    [Range(1, int.MaxValue)] public int GcFreq { get; set; } = 50;
    /// <summary>Torch intra-op threads per process; 0 = libtorch's default. (Not in torchtitan: CPUs need it.)</summary>
    [Doc("Torch intra-op threads per process; 0 = libtorch's default; not in torchtitan.")]
    [Range(0, 1024)] public int NumThreads { get; set; }
}

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
    [Doc("Pipeline stages (pipeline parallel is not built: above 1 is refused).")]
    [Range(1, int.MaxValue)] public int PipelineParallelDegree { get; set; } = 1;
    [Doc("Pipeline schedule by torchtitan's name (e.g. \"1F1B\"); read only by pipeline parallel, which is not built.")]
    public string PipelineParallelSchedule { get; set; } = "1F1B";
    [Doc("Ranks the sequence is split over (context parallel is not built: above 1 is refused).")]
    [Range(1, int.MaxValue)] public int ContextParallelDegree { get; set; } = 1;
    [Doc("Compiled autograd for the backward (not built).")]
    public bool EnableCompiledAutograd { get; set; }
    /// <summary>
    /// FSDP overlap (not in torchtitan, where CUDA streams always overlap): prefetch the next block's all-gather
    /// and run reduce-scatters on the communication thread. false = every collective blocks (for benchmarks).
    /// </summary>
    [Doc("FSDP: prefetch the next block's all-gather and reduce-scatter on the communication thread; false = every collective blocks; not in torchtitan.")]
    public bool FsdpOverlap { get; set; } = true;
}

public sealed class CheckpointSection
{
    [Doc("Save checkpoints, and resume from the latest one in the folder.")]
    public bool Enable { get; set; }
    [Doc("Checkpoint folder, under job.dump_folder.")]
    public string Folder { get; set; } = "checkpoint";
    [Doc("Steps between checkpoints.")]
    [Range(1, int.MaxValue)] public int Interval { get; set; } = 500;
    [Doc("A checkpoint to load at start when the checkpoint folder holds none.")]
    public string? InitialLoadPath { get; set; }
    [Doc("The initial load takes the model only (no optimizer or training state).")]
    public bool InitialLoadModelOnly { get; set; } = true;
    [Doc("initial_load_path is a Hugging Face safetensors folder.")]
    public bool InitialLoadInHf { get; set; }
    [Doc("The last checkpoint holds the model only, in export_dtype.")]
    public bool LastSaveModelOnly { get; set; } = true;
    [Doc("Write the last checkpoint as a Hugging Face safetensors folder (needs last_save_model_only).")]
    public bool LastSaveInHf { get; set; }
    [Doc("Dtype of model-only checkpoints.")]
    [OneOf("float32", "bfloat16", "float16")] public Dtype ExportDtype { get; set; } = Dtype.Float32;
    [Doc("\"disabled\" (training waits for each save) or \"async\" (written in the background).")]
    public CheckpointAsyncMode AsyncMode { get; set; } = CheckpointAsyncMode.Disabled;
    [Doc("Checkpoints kept, the newest; older ones are deleted; 0 = keep all.")]
    [Range(0, int.MaxValue)] public int KeepLatestK { get; set; } = 10;
    [Doc("The step to resume from; -1 = the latest.")]
    [Range(-1, int.MaxValue)] public int LoadStep { get; set; } = -1;
    [Doc("Parts of a checkpoint not loaded on resume: \"model\", \"optimizer\", \"lr_scheduler\", \"dataloader\", \"train_state\".")]
    public string[] ExcludeFromLoading { get; set; } = [];
    [Doc("Also save a checkpoint after step 1.")]
    public bool EnableFirstStepCheckpoint { get; set; }
    [Doc("Save the initial weights as step 0 and stop (a seed checkpoint for other runs).")]
    public bool CreateSeedCheckpoint { get; set; }
}

public sealed class ActivationCheckpointSection
{
    [Doc("Activations recomputed in backward: \"none\", \"full\" (every block) or \"selective\" (see selective_ac_option).")]
    public ActivationCheckpointMode Mode { get; set; } = ActivationCheckpointMode.Selective;
    /// <summary>"op" for per-op selective AC, or an integer N to checkpoint every Nth block.</summary>
    [Doc("With mode \"selective\": an integer N (every Nth block recomputes) or \"op\" (only cheap ops recompute).")]
    public string SelectiveAcOption { get; set; } = "2";
}

public sealed class Float8Section
{
    [Doc("FSDP all-gathers Float8 weights (tensorwise recipe only).")]
    public bool EnableFsdpFloat8AllGather { get; set; }
    [Doc("Compute every Float8 weight scale at once after the optimizer step (needs enable_fsdp_float8_all_gather).")]
    public bool PrecomputeFloat8DynamicScaleForFsdp { get; set; }
    [Doc("Scaling recipe: \"tensorwise\", \"rowwise\" or \"rowwise_with_gw_hp\".")]
    public Float8RecipeName RecipeName { get; set; } = Float8RecipeName.Tensorwise;
    [Doc("Linear layers whose names contain one of these stay in high precision.")]
    public string[] FilterFqns { get; set; } = ["output"];
    [Doc("Multiply the float8 values in the compute dtype instead of a float8 matmul (for hardware without one).")]
    public bool Emulate { get; set; }
}

public sealed class MetricsSection
{
    [Doc("Steps between metrics lines.")]
    [Range(1, int.MaxValue)] public int LogFreq { get; set; } = 10;
    [Doc("Write TensorBoard event files.")]
    public bool EnableTensorboard { get; set; }
    [Doc("Plain console lines, without colours.")]
    public bool DisableColorPrinting { get; set; }
    [Doc("TensorBoard folder, under job.dump_folder.")]
    public string SaveTbFolder { get; set; } = "tb";
    [Doc("Every rank writes its own metrics (else rank 0 only).")]
    public bool SaveForAllRanks { get; set; }
    [Doc("Log to Weights & Biases (not built).")]
    public bool EnableWandb { get; set; }
    /// <summary>Peak TFLOP/s for MFU; -1 = the datasheet (GPU) or the measured, cached peak (CPU).</summary>
    [Doc("Peak TFLOP/s for MFU; -1 = the datasheet (GPU) or the measured, cached peak (CPU); not in torchtitan.")]
    [Range(-1, double.MaxValue)] public double PeakTflops { get; set; } = -1;
}

public sealed class ProfilingSection
{
    [Doc("Trace steps into Chrome trace files.")]
    public bool EnableProfiling { get; set; }
    [Doc("Trace folder, under job.dump_folder.")]
    public string SaveTracesFolder { get; set; } = "profile_traces";
    [Doc("Steps per profiling cycle; each cycle's trace is written after its last step.")]
    [Range(1, int.MaxValue)] public int ProfileFreq { get; set; } = 10;
    [Doc("torch.profiler's warm-up steps before tracing; no effect here (the span tracer needs no warm-up).")]
    [Range(0, int.MaxValue)] public int ProfilerWarmup { get; set; } = 3;
    [Doc("Steps traced at the end of each cycle.")]
    [Range(1, int.MaxValue)] public int ProfilerActive { get; set; } = 1;
    [Doc("Record each rank's memory use into snapshot files.")]
    public bool EnableMemorySnapshot { get; set; }
    [Doc("Memory snapshot folder, under job.dump_folder.")]
    public string SaveMemorySnapshotFolder { get; set; } = "memory_snapshot";
    [Doc("Steps between memory snapshots.")]
    [Range(1, int.MaxValue)] public int MemorySnapshotFreq { get; set; } = 10;
}

public sealed class CommSection
{
    [Doc("Seconds a collective may take until the first training step ends; past it the job aborts.")]
    [Range(1, int.MaxValue)] public int InitTimeoutSeconds { get; set; } = 300;
    [Doc("Seconds a collective may take during training; past it the job aborts.")]
    [Range(1, int.MaxValue)] public int TrainTimeoutSeconds { get; set; } = 100;
    /// <summary>torchtitan's default is 20000; SharpTitan has no flight recorder yet, so 0 here and above 0 is refused.</summary>
    [Doc("Entries of the collectives' flight recorder; 0 = off (torchtitan's default 20000; not built, so 0 here).")]
    [Range(0, int.MaxValue)] public int TraceBufSize { get; set; }
}

public sealed class DebugSection
{
    [Doc("Seed for initialization and sampling; unset = a random seed, printed.")]
    public int? Seed { get; set; }
    [Doc("Deterministic algorithms; libtorch's CPU kernels already are for a fixed thread count, so true changes nothing on CPU.")]
    public bool Deterministic { get; set; }
    /// <summary>
    /// Test aid (not in torchtitan): a folder where rank 0 writes losses.txt (each step's global loss) and
    /// params.bin (final full fp32 parameters, see Training/ResultDump) and every rank writes memory_rankN.txt.
    /// </summary>
    [Doc("Test aid: rank 0 writes losses.txt and params.bin here, every rank memory_rankN.txt; not in torchtitan.")]
    public string? DumpResultsFolder { get; set; }
}

public sealed class ValidationSection
{
    [Doc("Evaluate the model on a validation set every freq steps.")]
    public bool Enable { get; set; }
    [Doc("Validation dataset name or path (as training.dataset).")]
    public string Dataset { get; set; } = "c4_validation";
    [Doc("Where the validation dataset's files are; unset = the name's default location.")]
    public string? DatasetPath { get; set; }
    [Doc("Sequences per validation batch on each rank.")]
    [Range(1, int.MaxValue)] public int LocalBatchSize { get; set; } = 8;
    [Doc("Tokens per validation sequence.")]
    [Range(1, int.MaxValue)] public int SeqLen { get; set; } = 2048;
    [Doc("Steps between validations.")]
    [Range(1, int.MaxValue)] public int Freq { get; set; } = 500;
    /// <summary>-1 = the whole validation set.</summary>
    [Doc("Validation batches per evaluation; -1 = the whole validation set.")]
    [Range(-1, int.MaxValue)] public int Steps { get; set; } = -1;
}

public sealed class CompileSection
{
    [Doc("torch.compile the components (not built).")]
    public bool Enable { get; set; }
    [Doc("What compile.enable compiles: \"model\", \"loss\" (read only by compile, which is not built).")]
    public CompileComponent[] Components { get; set; } = [CompileComponent.Model, CompileComponent.Loss];
}
