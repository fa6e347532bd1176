using SharpTitan.Checkpoint;
using SharpTitan.Tests.Support;
using SharpTitan.Training;

namespace SharpTitan.Tests.Checkpoint;

/// <summary>
/// Which checkpoint a run resumes from: never a model-only last save when a full-state checkpoint exists (issue
/// 15, item 3), and every newer folder passed over is named with the reason (item 10). In process, one rank.
/// </summary>
public class ResumeChoiceTests
{
    public ResumeChoiceTests() => TestSetup.Torch();

    // A constant lr after warmup, so a 5-step and an 8-step run share their first steps' schedule.
    private static string[] Args(string dump, params string[] extra) =>
        ["--checkpoint.enable", "--checkpoint.interval", "2", "--lr_scheduler.decay_ratio", "0", "--job.dump_folder", dump, .. extra];

    private static (double[] Losses, string Log) Train(int steps, string[] args)
    {
        var log = new StringWriter();
        using var t = new Trainer(TinyConfig.Create(steps: steps, overrides: args), log);
        var losses = t.Run().Select(r => r.Loss).ToArray();
        return (losses, log.ToString());
    }

    private static string Root(string dump) => Path.Combine(dump, "checkpoint");

    private static bool ModelOnly(string dump, int step) =>
        CheckpointMetadata.Read(Path.Combine(CheckpointFolder.StepPath(Root(dump), step), CheckpointMetadata.FileName)).ModelOnly;

    [Fact]
    public void AModelOnlyLastSaveResumesFromTheNewestFullStateCheckpointWithTheSameLosses()
    {
        var reference = Train(8, Args(TestSetup.TempDir("choice-ref"))).Losses;
        var dump = TestSetup.TempDir("choice");
        // last_save_model_only = true (the default): step-5 is model only; keep_latest_k = 1 must still keep step-4.
        var first = Train(5, Args(dump, "--checkpoint.keep_latest_k", "1"));
        Assert.Equal([4, 5], CheckpointFolder.CompleteSteps(Root(dump)));
        Assert.True(ModelOnly(dump, 5));
        Assert.Equal(reference[..5], first.Losses);

        var second = Train(8, Args(dump, "--checkpoint.keep_latest_k", "1"));
        Assert.Contains("checkpoint: step-5 holds the model only (last_save_model_only); resuming from step-4", second.Log);
        Assert.Contains("resuming after step 4", second.Log);
        Assert.Equal(reference[4..], second.Losses); // steps 5-8, bit for bit
        Assert.Equal([6, 8], CheckpointFolder.CompleteSteps(Root(dump)));
        Assert.False(ModelOnly(dump, 6));
    }

    [Fact]
    public void AModelOnlySaveNeverReplacesAFullStateCheckpointOfTheSameStep()
    {
        var dump = TestSetup.TempDir("choice-keep");
        Train(4, Args(dump, "--checkpoint.last_save_model_only", "false"));
        Assert.False(ModelOnly(dump, 4));
        var sha = File.ReadAllText(Path.Combine(CheckpointFolder.StepPath(Root(dump), 4), CheckpointMetadata.FileName));
        // Rerun steps 3-4 from step-2: its last save (model only) would land on the full-state step-4.
        var rerun = Train(4, Args(dump, "--checkpoint.load_step", "2"));
        Assert.Contains("checkpoint: step-4 already holds a full-state checkpoint; not replacing it with a model-only save", rerun.Log);
        Assert.Equal(sha, File.ReadAllText(Path.Combine(CheckpointFolder.StepPath(Root(dump), 4), CheckpointMetadata.FileName)));
    }

    [Fact]
    public void ANewerStepWithoutMetadataIsNamedWhenAnOlderOneIsLoaded()
    {
        var dump = TestSetup.TempDir("choice-missing");
        Train(4, Args(dump, "--checkpoint.last_save_model_only", "false"));
        File.Delete(Path.Combine(CheckpointFolder.StepPath(Root(dump), 4), CheckpointMetadata.FileName));
        Directory.CreateDirectory(CheckpointFolder.TempPath(Root(dump), 6));
        var rerun = Train(4, Args(dump, "--checkpoint.last_save_model_only", "false"));
        Assert.Contains("checkpoint: step-6.tmp-save is an unfinished save (the run that wrote it stopped or failed): skipped", rerun.Log);
        Assert.Contains("checkpoint: step-4 has no metadata.json (an incomplete or damaged save): skipped", rerun.Log);
        Assert.Contains("resuming after step 2", rerun.Log);
        Assert.Contains("checkpoint: removed " + CheckpointFolder.TempPath(Root(dump), 6) + ", an unfinished save", rerun.Log);
        Assert.False(Directory.Exists(CheckpointFolder.TempPath(Root(dump), 6)));
    }
}
