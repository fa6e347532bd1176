namespace SharpTitan.Config;

/// <summary>[training]: batch, sequence, steps, data, dtypes and mixed precision.</summary>
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
    [Doc("Where to compute: \"auto\" (CUDA when a CUDA libtorch loads and sees a GPU, else the CPU), \"cpu\", or \"cuda\" (an error when CUDA cannot be loaded); each rank takes GPU local_rank modulo the GPUs seen. Not in torchtitan, which trains on the GPU it finds.")]
    public DeviceChoice Device { get; set; } = DeviceChoice.Auto;
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
