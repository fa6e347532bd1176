using System.Globalization;
using System.Text.Json;
using SharpTitan.Config;
using SharpTitan.Models.Llama3;
using SharpTitan.Parallel;
using SharpTitan.Tests.Distributed;
using SharpTitan.Training;

namespace SharpTitan.Tests.Parallel;

/// <summary>
/// The same global batch (12 rows, seq 32) trained for 10 steps on one process and with tensor parallel (alone
/// and under FSDP) on real mpirun ranks gives the same loss and gradient norm at every step and the same final
/// parameters (gathered from the TP shards). max_norm is 0.5 so clipping is active every step: a wrong global
/// norm would move the parameters. The tokenizer's 259-token vocabulary does not divide by 2 or 4, so the
/// embedding and output shards are uneven. Measured (fp32): losses within ~2e-7 relative, gradient norms ~1e-8,
/// parameters within ~2e-6 (max |diff| / max |param| per tensor); the bounds leave room for reduction order.
/// </summary>
[Collection(MpiCollection.Name)]
public class TensorParallelEquivalenceTests : IClassFixture<TensorParallelEquivalenceTests.References>
{
    private const double LossTolerance = 1e-5;
    private const double ParamTolerance = 2e-5;
    private const int GlobalBatch = 12;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(240);

    /// <summary>Single-process runs, made on first use and shared by the class's tests.</summary>
    public sealed class References
    {
        private readonly Dictionary<string, string> _folders = new();
        public string For(string flavor)
        {
            lock (_folders)
                return _folders.TryGetValue(flavor, out var f) ? f : _folders[flavor] = Train(1, 1, flavor, []);
        }
    }

    private readonly References _references;
    public TensorParallelEquivalenceTests(References references) => _references = references;

    private static string Train(int ranks, int tp, string flavor, string[] overrides)
    {
        var dir = Support.TestSetup.TempDir($"tp-{ranks}-{tp}");
        int dp = ranks / tp;
        var args = new List<string>
        {
            "train", "--model.flavor", flavor,
            "--model.tokenizer_path", Path.Combine(MpiRun.RepoRoot, "assets", "tokenizer", "byte_tokenizer.json"),
            "--training.dataset", "sample", "--training.steps", "10", "--training.seq_len", "32",
            "--training.global_batch_size", GlobalBatch.ToString(), "--training.local_batch_size", (GlobalBatch / dp).ToString(),
            "--training.num_threads", "1", "--training.mixed_precision_param", "float32", "--training.max_norm", "0.5",
            "--parallelism.tensor_parallel_degree", tp.ToString(),
            "--debug.seed", "1234", "--activation_checkpoint.mode", "none", "--metrics.log_freq", "1",
            "--metrics.peak_tflops", "1", "--metrics.disable_color_printing", "--lr_scheduler.warmup_steps", "2",
            "--job.dump_folder", dir, "--debug.dump_results_folder", Path.Combine(dir, "results"),
            // Evaluated at steps 5 and 10 on the same fixed batches by every layout (full logits under TP).
            "--validation.enable", "true", "--validation.dataset", "sample", "--validation.seq_len", "32",
            "--validation.local_batch_size", "4", "--validation.steps", "2", "--validation.freq", "5",
        };
        args.AddRange(overrides);
        var r = ranks == 1 ? MpiRun.Start(MpiRun.CliPath, args, Timeout) : MpiRun.Run(ranks, MpiRun.CliPath, args, Timeout);
        Assert.True(r.ExitCode == 0 && !r.TimedOut, r.Describe());
        return dir;
    }

    private static double[] Metric(string dir, string name) =>
        File.ReadAllLines(Path.Combine(dir, "metrics.jsonl")).Where(l => l.Length > 0)
            .Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number).Select(e => e.GetProperty(name).GetDouble()).ToArray();

    private static void AssertClose(double[] expected, double[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= LossTolerance * expected[i], $"{what} {i + 1}: {actual[i]:R} vs {expected[i]:R}");
    }

    private void AssertSameTraining(string dir, string flavor = "tiny")
    {
        var reference = _references.For(flavor);
        Support.ResultComparison.AssertSameLosses(Path.Combine(reference, "results"), Path.Combine(dir, "results"), 10, LossTolerance);
        AssertClose(Metric(reference, "grad_norm"), Metric(dir, "grad_norm"), "logged step: grad norm at");
        var validation = Metric(dir, "validation_loss");
        Assert.Equal(2, validation.Length);
        AssertClose(Metric(reference, "validation_loss"), validation, "validation loss");
        Support.ResultComparison.AssertSameParameters(Path.Combine(reference, "results"), Path.Combine(dir, "results"), ParamTolerance);
    }

    [Fact]
    public void Tp2SequenceAndLossParallelMatchesOneProcess() => AssertSameTraining(Train(2, 2, "tiny", []));

    [Fact]
    public void Tp2WithoutSequenceParallelMatchesOneProcess() =>
        AssertSameTraining(Train(2, 2, "tiny", ["--parallelism.enable_sequence_parallel", "false"]));

    [Fact]
    public void Tp2WithoutLossParallelMatchesOneProcess() =>
        AssertSameTraining(Train(2, 2, "tiny", ["--parallelism.disable_loss_parallel", "true"]));

    /// <summary>Recompute under TP re-runs the block's TP collectives in backward; the result must not change.</summary>
    [Fact]
    public void Tp2WithFullActivationCheckpointingMatchesOneProcess() =>
        AssertSameTraining(Train(2, 2, "tiny", ["--activation_checkpoint.mode", "full"]));

    [Fact]
    public void Tp2WithSelectiveLayerActivationCheckpointingMatchesOneProcess() =>
        AssertSameTraining(Train(2, 2, "tiny", ["--activation_checkpoint.mode", "selective", "--activation_checkpoint.selective_ac_option", "2"]));

    /// <summary>Selective op under TP: the kept matmul outputs are the local (pre-collective) ones, so the replay
    /// feeds TP's hooks exactly what the first forward did.</summary>
    [Fact]
    public void Tp2WithSelectiveOpActivationCheckpointingMatchesOneProcess() =>
        AssertSameTraining(Train(2, 2, "tiny", ["--activation_checkpoint.mode", "selective", "--activation_checkpoint.selective_ac_option", "op"]));

    /// <summary>4 ranks on CI's 2 cores are slow: one run (sequence and loss parallel; the other paths run at TP 2).</summary>
    [Fact]
    public void Tp4MatchesOneProcess() =>
        AssertSameTraining(Train(4, 4, "tiny_mha", []), "tiny_mha");

    [Fact]
    public void Fsdp2xTp2MatchesOneProcess()
    {
        var dir = Train(4, 2, "tiny", []);
        AssertSameTraining(dir);
        Assert.Contains("dp_shard=2 cp=1 tp=2", File.ReadAllText(Path.Combine(dir, "logs", "rank_3.log")));
    }

    /// <summary>HSDP's replicate dimension (4 ranks allow replicate 2 x shard 1) around TP 2.</summary>
    [Fact]
    public void Hsdp2xTp2MatchesOneProcess()
    {
        var dir = Train(4, 2, "tiny", ["--parallelism.data_parallel_replicate_degree", "2"]);
        AssertSameTraining(dir);
        Assert.Contains("dp_replicate=2 dp_shard=1 cp=1 tp=2", File.ReadAllText(Path.Combine(dir, "logs", "rank_3.log")));
    }

    /// <summary>Tied embeddings: the vocabulary-sharded embedding is also the output projection's block.</summary>
    [Fact]
    public void Tp2TiedEmbeddingsMatchesOneProcess() => AssertSameTraining(Train(2, 2, "tiny_tied", []), "tiny_tied");

    private static readonly string[] Async = ["--parallelism.enable_async_tensor_parallel", "true"];

    /// <summary>Async TP (chunked collectives on the communication thread) gives plain TP's results.</summary>
    [Fact]
    public void Tp2AsyncMatchesOneProcess() => AssertSameTraining(Train(2, 2, "tiny", Async));

    /// <summary>Recompute re-runs the chunked collectives inside backward.</summary>
    [Fact]
    public void Tp2AsyncWithFullActivationCheckpointingMatchesOneProcess() =>
        AssertSameTraining(Train(2, 2, "tiny", [.. Async, "--activation_checkpoint.mode", "full"]));

    /// <summary>With 4 ranks each rank has 3 other ranks' rows per piece, in rank order around its own.</summary>
    [Fact]
    public void Tp4AsyncMatchesOneProcess() => AssertSameTraining(Train(4, 4, "tiny_mha", Async), "tiny_mha");

    /// <summary>Async TP's collectives share the communication thread with FSDP's prefetch and reduce-scatters.</summary>
    [Fact]
    public void Fsdp2xTp2AsyncMatchesOneProcess() => AssertSameTraining(Train(4, 2, "tiny", Async));

    [Fact]
    public void AHeadCountTheDegreeDoesNotDivideIsAOneLineConfigError()
    {
        var e = Assert.Throws<ConfigException>(() => TensorParallel.Validate(ModelFlavors.Llama3["tiny"], 4,
            new TensorParallelOptions(true, true, false), 32));
        Assert.Contains("parallelism.tensor_parallel_degree = 4", e.Message);
        Assert.Contains("n_kv_heads (2)", e.Message);
        Assert.DoesNotContain('\n', e.Message);

        var tied = Assert.Throws<ConfigException>(() => TensorParallel.Validate(ModelFlavors.Llama3["tiny_tied"], 2,
            new TensorParallelOptions(true, LossParallel: false, false), 32));
        Assert.Contains("needs loss parallel: set parallelism.disable_loss_parallel = false", tied.Message);
        var validation = Assert.Throws<ConfigException>(() => TensorParallel.Validate(ModelFlavors.Llama3["tiny"], 2,
            new TensorParallelOptions(true, true, false), 32, validationSeqLen: 33));
        Assert.Contains("validation.seq_len = 33 must be a multiple of parallelism.tensor_parallel_degree (2)", validation.Message);

        var r = MpiRun.Run(4, MpiRun.CliPath, ["train", "--model.flavor", "tiny", "--training.steps", "1",
            "--activation_checkpoint.mode", "none", "--parallelism.tensor_parallel_degree", "4"], Timeout);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("parallelism.tensor_parallel_degree = 4 must divide the model's n_heads (4) and n_kv_heads (2)", r.Output);
    }
}
