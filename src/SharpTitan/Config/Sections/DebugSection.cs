namespace SharpTitan.Config;

/// <summary>[debug]: seeds, determinism and result dumps for tests.</summary>
public sealed class DebugSection
{
    [Doc("Seed for initialization and sampling; unset = a random seed, printed.")]
    public int? Seed { get; set; }
    [Doc("Deterministic algorithms only (an op without one fails), cuDNN deterministic, CUBLAS_WORKSPACE_CONFIG=:4096:8, as torchtitan; libtorch's CPU kernels are deterministic for a fixed thread count anyway.")]
    public bool Deterministic { get; set; }
    [Doc("Run sends and receives under NCCL's rules on any backend (matched by order only, one batch at a time), to check on CPUs what NCCL will do with a pipeline or context-parallel layout; not in torchtitan.")]
    public bool EmulateNcclP2p { get; set; }
    /// <summary>
    /// Test aid (not in torchtitan): a folder where rank 0 writes losses.txt (each step's global loss) and
    /// params.bin (final full fp32 parameters, see Training/ResultDump) and every rank writes memory_rankN.txt.
    /// </summary>
    [Doc("Test aid: rank 0 writes losses.txt and params.bin here, every rank memory_rankN.txt; not in torchtitan.")]
    public string? DumpResultsFolder { get; set; }
}
