using SharpTitan.Checkpoint;
using SharpTitan.Checkpoint.HuggingFace;
using SharpTitan.Models.Llama3;
using static TorchSharp.torch;
using SharpTitan.Tests.Distributed;
using SharpTitan.Tests.Support;
using static SharpTitan.Tests.Checkpoint.CheckpointRuns;
using static SharpTitan.Tests.Support.ResultComparison;

namespace SharpTitan.Tests.Parallel;

/// <summary>
/// Checkpoints of pipeline-parallel runs (tiny model, global batch 12, full checkpoints every 5 steps): each stage
/// writes its own parameters and AdamW moments as whole global tensors, so PP 2 resumes bit for bit and the same
/// checkpoint loads into one process (and one process's into PP 2) within the feature matrix's tolerances.
/// </summary>
[Collection(MpiCollection.Name)]
public class PipelineCheckpointTests
{
    private const double LossTolerance = 1e-5, ParamTolerance = 2e-5;

    private static string TrainPp(int pp, int steps, string? resumeFrom, int dp = 1, int tp = 1, params string[] overrides)
    {
        var run = Run(pp * dp * tp, tp, steps, ["--parallelism.pipeline_parallel_microbatch_size", "3", .. overrides]) with { Pp = pp };
        var dir = TestSetup.TempDir($"ckpt-pp{pp}-dp{dp}-tp{tp}{(overrides.Length > 0 ? "-" + overrides[^1] : "")}");
        if (resumeFrom != null) CopyInto(resumeFrom, dir);
        return (run with { DumpFolder = dir }).Train();
    }

    private static void CopyInto(string stepFolder, string dump)
    {
        var to = Path.Combine(dump, "checkpoint", Path.GetFileName(stepFolder));
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(stepFolder)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
    }

    [Fact]
    public void Pp2ResumesBitForBitAndReshardsToOneProcessAndBack()
    {
        var pp = TrainPp(2, 15, null);
        var resumed = TrainPp(2, 15, Step(pp, 10));
        AssertSame(Losses(pp)[10..], Losses(resumed), Parameters(pp), Parameters(resumed), 0, 0);

        // Every tensor is whole, written by the one rank whose stage owns it.
        var meta = CheckpointMetadata.Read(Path.Combine(Step(pp, 10), CheckpointMetadata.FileName));
        Assert.All(meta.Tensors, t => Assert.Null(Assert.Single(t.Chunks).Block));
        Assert.Equal(TinyParameterCount, meta.Tensors.Count(t => t.Name.StartsWith(TrainingState.Model, StringComparison.Ordinal)));

        var single = Train(1, 15, Step(pp, 5));
        AssertSame(Losses(pp)[5..], Losses(single), Parameters(pp), Parameters(single), LossTolerance, ParamTolerance);
        var back = TrainPp(2, 15, Step(single, 10));
        AssertSame(Losses(single)[5..], Losses(back), Parameters(single), Parameters(back), LossTolerance, ParamTolerance);
    }

    /// <summary>
    /// Tied embeddings at PP 2: the last stage's copy of the embedding weight is not saved (the first stage's rank
    /// writes it once, with its moments); PP 2 resumes bit for bit, both copies loading it, and one process follows.
    /// </summary>
    [Fact]
    public void Pp2TiedEmbeddingsSaveTheWeightOnceAndResume()
    {
        string[] tied = ["--model.flavor", "tiny_tied"];
        var pp = TrainPp(2, 15, null, overrides: tied);
        var meta = CheckpointMetadata.Read(Path.Combine(Step(pp, 10), CheckpointMetadata.FileName));
        Assert.Single(meta.Tensors, t => t.Name == TrainingState.Model + "tok_embeddings.weight");
        Assert.All(meta.Tensors, t => Assert.Single(t.Chunks));
        var resumed = TrainPp(2, 15, Step(pp, 10), overrides: tied);
        AssertSame(Losses(pp)[10..], Losses(resumed), Parameters(pp), Parameters(resumed), 0, 0);
        var single = Train(1, 15, Step(pp, 5), tied);
        AssertSame(Losses(pp)[5..], Losses(single), Parameters(pp), Parameters(single), LossTolerance, ParamTolerance);
    }

    /// <summary>
    /// ZBVZeroBubble's V placement (rank 0: stages 0 and 3, rank 1: stages 1 and 2): each tensor is still written once
    /// by its owner; the run resumes bit for bit and its checkpoint loads into one process.
    /// </summary>
    [Fact]
    public void Pp2ZeroBubbleVResumesBitForBitAndReshardsToOneProcess()
    {
        string[] zbv = ["--parallelism.pipeline_parallel_schedule", "ZBVZeroBubble"];
        var pp = TrainPp(2, 10, null, overrides: zbv);
        var resumed = TrainPp(2, 10, Step(pp, 5), overrides: zbv);
        AssertSame(Losses(pp)[5..], Losses(resumed), Parameters(pp), Parameters(resumed), 0, 0);
        var meta = CheckpointMetadata.Read(Path.Combine(Step(pp, 5), CheckpointMetadata.FileName));
        Assert.Equal(TinyParameterCount, meta.Tensors.Count(t => t.Name.StartsWith(TrainingState.Model, StringComparison.Ordinal)));
        var single = Train(1, 10, Step(pp, 5));
        AssertSame(Losses(pp)[5..], Losses(single), Parameters(pp), Parameters(single), LossTolerance, ParamTolerance);
    }

    /// <summary>PP 2 x FSDP 2 saves flat shard ranges of each stage's parameters; they load into one process and PP 2.</summary>
    [Fact]
    public void Pp2xFsdp2ReshardsToOneProcessAndPp2()
    {
        var ppDp = TrainPp(2, 10, null, dp: 2);
        var single = Train(1, 10, Step(ppDp, 5));
        AssertSame(Losses(ppDp)[5..], Losses(single), Parameters(ppDp), Parameters(single), LossTolerance, ParamTolerance);
        var pp = TrainPp(2, 10, Step(ppDp, 5));
        AssertSame(Losses(ppDp)[5..], Losses(pp), Parameters(ppDp), Parameters(pp), LossTolerance, ParamTolerance);
    }

    /// <summary>PP 2 x TP 2 saves TP blocks of each stage's tensors (norms once); they load into one process.</summary>
    [Fact]
    public void Pp2xTp2ReshardsToOneProcess()
    {
        var ppTp = TrainPp(2, 10, null, tp: 2);
        var single = Train(1, 10, Step(ppTp, 5));
        AssertSame(Losses(ppTp)[5..], Losses(single), Parameters(ppTp), Parameters(single), LossTolerance, ParamTolerance);
    }

    /// <summary>
    /// last_save_in_hf under PP 2 gathers every stage's parameters into whole tensors equal to the final parameters;
    /// a PP 2 run with initial_load_in_hf takes its stages back from that folder (lr 0: one step leaves them unchanged).
    /// </summary>
    [Fact]
    public void Pp2LastSaveInHfRoundTrips()
    {
        TestSetup.Torch();
        var dir = TrainPp(2, 3, null, overrides: ["--checkpoint.last_save_model_only", "true", "--checkpoint.last_save_in_hf", "--checkpoint.interval", "100"]);
        var hf = Step(dir, 3);
        using var scope = NewDisposeScope();
        var imported = HfCheckpoint.Import(hf, ModelFlavors.Llama3["tiny"] with { VocabSize = 259, MaxSeqLen = 32 });
        var final = Parameters(dir);
        Assert.Equal(final.Keys.Order(), imported.Keys.Order());
        foreach (var (name, values) in final) Assert.Equal(values, imported[name].contiguous().data<float>().ToArray());

        var loaded = TrainPp(2, 1, null, overrides: ["--checkpoint.initial_load_path", hf, "--checkpoint.initial_load_in_hf", "--optimizer.lr", "0"]);
        foreach (var (name, values) in Parameters(loaded)) Assert.Equal(final[name], values);
    }

    /// <summary>tiny: embedding, output, final norm, and 9 tensors in each of its 2 layers.</summary>
    private const int TinyParameterCount = 3 + 2 * 9;
}
