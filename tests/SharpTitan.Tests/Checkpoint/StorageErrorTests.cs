using SharpTitan.Checkpoint;
using SharpTitan.IO;
using SharpTitan.Tests.Support;
using SharpTitan.Training;

namespace SharpTitan.Tests.Checkpoint;

/// <summary>
/// File-system errors while checkpointing are one line naming the path and the cause, leave the previous
/// checkpoints intact and no partial folder behind, and a failed background save ends the run at the next step
/// (issue 15, item 9). Tests run as root, so permissions cannot stop them: a file where a folder must go does.
/// </summary>
public class StorageErrorTests
{
    public StorageErrorTests() => TestSetup.Torch();

    private static string[] Args(string dump, params string[] extra) =>
        ["--checkpoint.enable", "--checkpoint.interval", "2", "--checkpoint.last_save_model_only", "false",
         "--metrics.log_freq", "1", "--job.dump_folder", dump, .. extra];

    private static string Root(string dump) => Path.Combine(dump, "checkpoint");

    [Fact]
    public void ACheckpointFolderThatIsAFileIsOneLineNamingIt()
    {
        var dump = TestSetup.TempDir("fs-root");
        File.WriteAllText(Root(dump), "not a folder");
        var e = Assert.Throws<StorageException>(() => new Trainer(TinyConfig.Create(steps: 2, overrides: Args(dump)), TextWriter.Null).Dispose());
        Assert.Equal($"checkpoint folder: cannot create {Root(dump)}: a file of that name is in the way", e.Message);
    }

    [Fact]
    public void AFailedSaveNamesThePathAndKeepsThePreviousCheckpoint()
    {
        var dump = TestSetup.TempDir("fs-save");
        Directory.CreateDirectory(Root(dump));
        var blocker = CheckpointFolder.TempPath(Root(dump), 4);
        File.WriteAllText(blocker, "in the way of step 4's save");
        using var t = new Trainer(TinyConfig.Create(steps: 4, overrides: Args(dump)), TextWriter.Null);
        var e = Assert.Throws<StorageException>(() => t.Run());
        Assert.Equal($"checkpoint step 4: cannot create {blocker}: a file of that name is in the way", e.Message);
        Assert.Equal([2], CheckpointFolder.CompleteSteps(Root(dump)));
        Assert.Equal(["step-2", "step-4.tmp-save"], Directory.GetFileSystemEntries(Root(dump)).Select(Path.GetFileName).Order());
        foreach (var v in CheckpointReader.ReadModel(CheckpointFolder.StepPath(Root(dump), 2)).Values) v.Dispose(); // checks every byte
    }

    [Fact]
    public void AFailedBackgroundSaveEndsTheRunAtTheNextStep()
    {
        var dump = TestSetup.TempDir("fs-async");
        var temp = CheckpointFolder.TempPath(Root(dump), 4);
        // Step 4's background write fails as a full disk would (ENOSPC); the metrics line of step 5 then waits
        // until the failed save has cleaned up, so the check at the end of step 5 sees it finished.
        CheckpointWriter.BeforeWriteRank.Value = (_, shard) =>
        {
            if (shard.StartsWith(temp, StringComparison.Ordinal)) throw new IOException($"No space left on device : '{shard}'", 28);
        };
        var log = new StepLog("step:     5", () => !Directory.Exists(temp));
        using var t = new Trainer(TinyConfig.Create(steps: 8, overrides: Args(dump, "--checkpoint.async_mode", "async")), log);
        var e = Assert.Throws<StorageException>(() => t.Run());
        Assert.Equal($"checkpoint step 4 (written in the background): cannot write {temp}: no space left on device", e.Message);
        Assert.Contains("step:     5", log.Text);
        Assert.DoesNotContain("step:     6", log.Text);
        Assert.Equal(["step-2"], Directory.GetFileSystemEntries(Root(dump)).Select(Path.GetFileName));
    }

    /// <summary>A log that, on the line containing <c>marker</c>, waits (up to 10 s) until <c>ready</c> holds.</summary>
    private sealed class StepLog(string marker, Func<bool> ready) : StringWriter
    {
        public string Text { get { lock (this) return ToString(); } }

        public override void WriteLine(string? value)
        {
            lock (this) base.WriteLine(value);
            if (value == null || !value.Contains(marker, StringComparison.Ordinal)) return;
            var sw = System.Diagnostics.Stopwatch.StartNew();
            while (!ready() && sw.Elapsed < TimeSpan.FromSeconds(10)) Thread.Sleep(10);
            Thread.Sleep(200); // the faulted task completes right after its cleanup
        }
    }
}
