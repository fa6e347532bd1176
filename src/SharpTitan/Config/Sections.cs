namespace SharpTitan.Config;

// The config sections and keys, named as torchtitan names them (PascalCase here, snake_case in TOML and on the
// command line: DumpFolder <-> dump_folder). Defaults are torchtitan's unless a comment says why not.

public sealed class JobSection
{
    public string DumpFolder { get; set; } = "./outputs";
    public string Description { get; set; } = "default job";
    public bool PrintConfig { get; set; }
}

public sealed class ModelSection
{
    [OneOf("llama3")] public string Name { get; set; } = "llama3";
    public string Flavor { get; set; } = "debugmodel";
    /// <summary>A tokenizer file: the project's byte-level JSON, a tiktoken model, or a Hugging Face tokenizer.json.</summary>
    public string TokenizerPath { get; set; } = "./assets/tokenizer/byte_tokenizer.json";
    /// <summary>Model converters applied after building the model, e.g. "float8".</summary>
    [OneOf("float8")] public string[] Converters { get; set; } = [];
    public bool PrintAfterConversion { get; set; }
}

public sealed class OptimizerSection
{
    [OneOf("AdamW", "Adam")] public string Name { get; set; } = "AdamW";
    [Range(0, 10)] public double Lr { get; set; } = 8e-4;
    [Range(0, 1)] public double Beta1 { get; set; } = 0.9;
    [Range(0, 1)] public double Beta2 { get; set; } = 0.95;
    [Range(0, 1)] public double Eps { get; set; } = 1e-8;
    [Range(0, 10)] public double WeightDecay { get; set; } = 0.1;
    [OneOf("fused", "foreach", "for-loop")] public string Implementation { get; set; } = "fused";
    public bool EarlyStepInBackward { get; set; }
}

public sealed class LrSchedulerSection
{
    [Range(0, int.MaxValue)] public int WarmupSteps { get; set; } = 200;
    /// <summary>Share of steps spent decaying (warmup-stable-decay); unset = decay right after warmup.</summary>
    [Range(0, 1)] public double? DecayRatio { get; set; }
    [OneOf("linear", "sqrt", "cosine")] public string DecayType { get; set; } = "linear";
    [Range(0, 1)] public double MinLrFactor { get; set; }
}

public sealed class TrainingSection
{
    public string Dataset { get; set; } = "c4_test";
    public string? DatasetPath { get; set; }
    /// <summary>The JSON / parquet field holding a document's text (also used by [validation]). Not in torchtitan.</summary>
    public string DatasetTextField { get; set; } = "text";
    /// <summary>How a .txt file splits into documents: "file" (one each) or "blank_lines" (one per block). Not in torchtitan.</summary>
    [OneOf("file", "blank_lines")] public string DatasetTxtSplit { get; set; } = "file";
    [Range(1, int.MaxValue)] public int LocalBatchSize { get; set; } = 8;
    /// <summary>-1 = local_batch_size x data-parallel degree; larger multiples accumulate gradients.</summary>
    [Range(-1, int.MaxValue)] public int GlobalBatchSize { get; set; } = -1;
    [Range(1, int.MaxValue)] public int SeqLen { get; set; } = 2048;
    [Range(0, double.MaxValue)] public double MaxNorm { get; set; } = 1.0;
    [Range(1, int.MaxValue)] public int Steps { get; set; } = 10000;
    public bool EnableCpuOffload { get; set; }
    [OneOf("float32", "bfloat16")] public string Dtype { get; set; } = "float32";
    [OneOf("float32", "bfloat16")] public string MixedPrecisionParam { get; set; } = "bfloat16";
    [OneOf("float32")] public string MixedPrecisionReduce { get; set; } = "float32";
    /// <summary>
    /// Single-process mixed precision (not in torchtitan, which uses autocast): "master_copy" (a bf16 copy of the
    /// parameters, fp32 masters; measured faster here) or "autocast" (libtorch's CPU autocast).
    /// </summary>
    [OneOf("master_copy", "autocast")] public string MixedPrecisionImpl { get; set; } = "master_copy";
    [Range(1, int.MaxValue)] public int GcFreq { get; set; } = 50;
    /// <summary>Torch intra-op threads per process; 0 = libtorch's default. (Not in torchtitan: CPUs need it.)</summary>
    [Range(0, 1024)] public int NumThreads { get; set; }
}

public sealed class ParallelismSection
{
    [Range(1, int.MaxValue)] public int DataParallelReplicateDegree { get; set; } = 1;
    /// <summary>-1 = the ranks the other degrees leave.</summary>
    [Range(-1, int.MaxValue)] public int DataParallelShardDegree { get; set; } = -1;
    [OneOf("default", "always", "never")] public string FsdpReshardAfterForward { get; set; } = "default";
    [Range(1, int.MaxValue)] public int TensorParallelDegree { get; set; } = 1;
    public bool EnableSequenceParallel { get; set; } = true;
    public bool DisableLossParallel { get; set; }
    public bool EnableAsyncTensorParallel { get; set; }
    [Range(1, int.MaxValue)] public int PipelineParallelDegree { get; set; } = 1;
    public string PipelineParallelSchedule { get; set; } = "1F1B";
    [Range(1, int.MaxValue)] public int ContextParallelDegree { get; set; } = 1;
    public bool EnableCompiledAutograd { get; set; }
    /// <summary>
    /// FSDP overlap (not in torchtitan, where CUDA streams always overlap): prefetch the next block's all-gather
    /// and run reduce-scatters on the communication thread. false = every collective blocks (for benchmarks).
    /// </summary>
    public bool FsdpOverlap { get; set; } = true;
}

public sealed class CheckpointSection
{
    public bool Enable { get; set; }
    public string Folder { get; set; } = "checkpoint";
    [Range(1, int.MaxValue)] public int Interval { get; set; } = 500;
    public string? InitialLoadPath { get; set; }
    public bool InitialLoadModelOnly { get; set; } = true;
    public bool InitialLoadInHf { get; set; }
    public bool LastSaveModelOnly { get; set; } = true;
    public bool LastSaveInHf { get; set; }
    [OneOf("float32", "bfloat16", "float16")] public string ExportDtype { get; set; } = "float32";
    [OneOf("disabled", "async")] public string AsyncMode { get; set; } = "disabled";
    [Range(0, int.MaxValue)] public int KeepLatestK { get; set; } = 10;
    [Range(-1, int.MaxValue)] public int LoadStep { get; set; } = -1;
    public string[] ExcludeFromLoading { get; set; } = [];
    public bool EnableFirstStepCheckpoint { get; set; }
    public bool CreateSeedCheckpoint { get; set; }
}

public sealed class ActivationCheckpointSection
{
    [OneOf("none", "full", "selective")] public string Mode { get; set; } = "selective";
    /// <summary>"op" for per-op selective AC, or an integer N to checkpoint every Nth block.</summary>
    public string SelectiveAcOption { get; set; } = "2";
}

public sealed class Float8Section
{
    public bool EnableFsdpFloat8AllGather { get; set; }
    public bool PrecomputeFloat8DynamicScaleForFsdp { get; set; }
    [OneOf("tensorwise", "rowwise", "rowwise_with_gw_hp")] public string RecipeName { get; set; } = "tensorwise";
    public string[] FilterFqns { get; set; } = ["output"];
    public bool Emulate { get; set; }
}

public sealed class MetricsSection
{
    [Range(1, int.MaxValue)] public int LogFreq { get; set; } = 10;
    public bool EnableTensorboard { get; set; }
    public bool DisableColorPrinting { get; set; }
    public string SaveTbFolder { get; set; } = "tb";
    public bool SaveForAllRanks { get; set; }
    public bool EnableWandb { get; set; }
    /// <summary>Peak TFLOP/s for MFU; -1 = the datasheet (GPU) or the measured, cached peak (CPU).</summary>
    [Range(-1, double.MaxValue)] public double PeakTflops { get; set; } = -1;
}

public sealed class ProfilingSection
{
    public bool EnableProfiling { get; set; }
    public string SaveTracesFolder { get; set; } = "profile_traces";
    [Range(1, int.MaxValue)] public int ProfileFreq { get; set; } = 10;
    [Range(0, int.MaxValue)] public int ProfilerWarmup { get; set; } = 3;
    [Range(1, int.MaxValue)] public int ProfilerActive { get; set; } = 1;
    public bool EnableMemorySnapshot { get; set; }
    public string SaveMemorySnapshotFolder { get; set; } = "memory_snapshot";
    [Range(1, int.MaxValue)] public int MemorySnapshotFreq { get; set; } = 10;
}

public sealed class CommSection
{
    [Range(1, int.MaxValue)] public int InitTimeoutSeconds { get; set; } = 300;
    [Range(1, int.MaxValue)] public int TrainTimeoutSeconds { get; set; } = 100;
    [Range(0, int.MaxValue)] public int TraceBufSize { get; set; } = 20000;
}

public sealed class DebugSection
{
    public int? Seed { get; set; }
    public bool Deterministic { get; set; }
    /// <summary>
    /// Test aid (not in torchtitan): a folder where rank 0 writes losses.txt (each step's global loss) and
    /// params.bin (final full fp32 parameters, see Training/ResultDump) and every rank writes memory_rankN.txt.
    /// </summary>
    public string? DumpResultsFolder { get; set; }
}

public sealed class ValidationSection
{
    public bool Enable { get; set; }
    public string Dataset { get; set; } = "c4_validation";
    public string? DatasetPath { get; set; }
    [Range(1, int.MaxValue)] public int LocalBatchSize { get; set; } = 8;
    [Range(1, int.MaxValue)] public int SeqLen { get; set; } = 2048;
    [Range(1, int.MaxValue)] public int Freq { get; set; } = 500;
    /// <summary>-1 = the whole validation set.</summary>
    [Range(-1, int.MaxValue)] public int Steps { get; set; } = -1;
}

public sealed class CompileSection
{
    public bool Enable { get; set; }
    public string[] Components { get; set; } = ["model", "loss"];
}
