using System.Text.Json;
using SharpTitan.Tests.Distributed;
using SharpTitan.Training;

namespace SharpTitan.Tests.Support;

/// <summary>
/// A short training run of a tiny model through the real `sharptitan train`: one process without mpirun, or
/// <see cref="Ranks"/> ranks under mpirun. The one place that knows the flags such a run needs (byte tokenizer,
/// embedded sample data, seq_len 32, one thread, a fixed seed, fp32 unless asked, quiet metrics, a measured-free
/// MFU peak) and where its results go: `{dump}/results` holds losses.txt, params.bin and memory_rank{r}.txt
/// (debug.dump_results_folder), `{dump}/metrics.jsonl` the logged steps.
/// </summary>
public sealed record TinyRun
{
    public const int SeqLen = 32;

    public int Ranks { get; init; } = 1;
    /// <summary>Tensor parallel degree; the other factor of <see cref="Ranks"/> is data parallel.</summary>
    public int Tp { get; init; } = 1;
    /// <summary>Context parallel degree: these ranks share one data-parallel rank's batch.</summary>
    public int Cp { get; init; } = 1;
    /// <summary>Pipeline parallel degree (outermost); data parallel takes what TP and PP leave.</summary>
    public int Pp { get; init; } = 1;
    public int Steps { get; init; } = 10;
    public int GlobalBatch { get; init; } = 12;
    /// <summary>Rows per micro-batch; unset: the global batch split over the data-parallel ranks (no accumulation).</summary>
    public int? LocalBatch { get; init; }
    public string Flavor { get; init; } = "tiny";
    /// <summary>training.mixed_precision_param.</summary>
    public string ParamDtype { get; init; } = "float32";
    public int LogFreq { get; init; } = 5;
    /// <summary>Appended last, so they win over the flags above.</summary>
    public IReadOnlyList<string> Overrides { get; init; } = [];
    /// <summary>Unset: a new temporary folder per run.</summary>
    public string? DumpFolder { get; init; }
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(240);
    /// <summary>Extra environment variables of the run (every rank's).</summary>
    public IReadOnlyDictionary<string, string>? Environment { get; init; }

    public int DataParallel => Ranks / (Tp * Cp * Pp);

    /// <summary>Flags every tiny run shares, in process (<see cref="TinyConfig"/>) or through the CLI.</summary>
    public static List<string> CommonFlags(string flavor, int steps, int seqLen) =>
    [
        "--model.flavor", flavor,
        "--model.tokenizer_path", Path.Combine(TestSetup.RepoRoot, "assets", "tokenizer", "byte_tokenizer.json"),
        "--training.dataset", "sample",
        "--training.steps", steps.ToString(),
        "--training.seq_len", seqLen.ToString(),
        "--training.num_threads", "1",
        "--debug.seed", "1234",
        "--activation_checkpoint.mode", "none",
        "--metrics.peak_tflops", "1",
        "--metrics.disable_color_printing",
        "--lr_scheduler.warmup_steps", "2",
    ];

    /// <summary>The `train` command line without the dump folder (also the identity of a run's configuration).</summary>
    public List<string> Arguments()
    {
        var args = new List<string> { "train" };
        args.AddRange(CommonFlags(Flavor, Steps, SeqLen));
        args.AddRange([
            "--training.global_batch_size", GlobalBatch.ToString(),
            "--training.local_batch_size", (LocalBatch ?? GlobalBatch / DataParallel).ToString(),
            "--training.mixed_precision_param", ParamDtype,
            "--parallelism.tensor_parallel_degree", Tp.ToString(),
            "--metrics.log_freq", LogFreq.ToString(),
        ]);
        if (Cp > 1) args.AddRange(["--parallelism.context_parallel_degree", Cp.ToString()]);
        if (Pp > 1) args.AddRange(["--parallelism.pipeline_parallel_degree", Pp.ToString()]);
        args.AddRange(Overrides);
        return args;
    }

    /// <summary>Starts the run and returns what the process left behind, whatever its exit code.</summary>
    public ProcessResult Start(out string dumpFolder)
    {
        dumpFolder = DumpFolder ?? TestSetup.TempDir($"run-{Ranks}-tp{Tp}-pp{Pp}");
        var args = CommandLine(dumpFolder);
        return Ranks == 1 ? MpiRun.Start(MpiRun.CliPath, args, Timeout, Environment) : MpiRun.Run(Ranks, MpiRun.CliPath, args, Timeout, Environment);
    }

    /// <summary>The full command line <see cref="Start"/> runs (after the program), for runs started by other means.</summary>
    public List<string> CommandLine(string dumpFolder)
    {
        var args = Arguments();
        args.InsertRange(1, ["--job.dump_folder", dumpFolder, "--debug.dump_results_folder", Results(dumpFolder)]);
        return args;
    }

    /// <summary>Trains, asserts a clean exit, and returns the dump folder.</summary>
    public string Train()
    {
        var r = Start(out var dump);
        Assert.True(r.ExitCode == 0 && !r.TimedOut, r.Describe());
        return dump;
    }

    public static string Results(string dumpFolder) => Path.Combine(dumpFolder, "results");

    /// <summary>The loss of every step.</summary>
    public static double[] Losses(string dumpFolder) => ResultDump.ReadLosses(Results(dumpFolder));

    /// <summary>The final parameters by name (whole tensors, gathered from every shard).</summary>
    public static Dictionary<string, float[]> Parameters(string dumpFolder) =>
        ResultDump.ReadParameters(Path.Combine(Results(dumpFolder), "params.bin"));

    /// <summary>A numeric field of metrics.jsonl, in line order (e.g. grad_norm, validation_loss).</summary>
    public static double[] Metric(string dumpFolder, string name) =>
        File.ReadAllLines(Path.Combine(dumpFolder, "metrics.jsonl")).Where(l => l.Length > 0)
            .Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number)
            .Select(e => e.GetProperty(name).GetDouble()).ToArray();

    /// <summary>A rank's parameter, gradient and optimizer-state element counts (memory_rank{r}.txt).</summary>
    public static Dictionary<string, long> Memory(string dumpFolder, int rank) =>
        File.ReadAllLines(Path.Combine(Results(dumpFolder), $"memory_rank{rank}.txt"))
            .Select(l => l.Split(' ')).ToDictionary(p => p[0], p => long.Parse(p[1]));
}
