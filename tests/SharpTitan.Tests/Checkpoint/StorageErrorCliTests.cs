using SharpTitan.IO;
using SharpTitan.Tests.Distributed;
using SharpTitan.Tests.Support;

namespace SharpTitan.Tests.Checkpoint;

/// <summary>The CLI prints a file-system error as one line and exits with <see cref="StorageException.ExitCode"/>.</summary>
public class StorageErrorCliTests
{
    [Fact]
    public void ACheckpointFolderThatIsAFileIsOneLineAndExitCode74()
    {
        var dump = TestSetup.TempDir("fs-cli");
        var root = Path.Combine(dump, "checkpoint");
        File.WriteAllText(root, "not a folder");
        var r = MpiRun.Start(MpiRun.CliPath,
        [
            "train", "--model.flavor", "tiny", "--model.tokenizer_path", Path.Combine(TestSetup.RepoRoot, "assets", "tokenizer", "byte_tokenizer.json"),
            "--training.dataset", "sample", "--training.steps", "2", "--training.seq_len", "32", "--training.local_batch_size", "4",
            "--training.num_threads", "1", "--metrics.peak_tflops", "1", "--checkpoint.enable", "--job.dump_folder", dump,
        ]);
        Assert.True(r.ExitCode == StorageException.ExitCode, r.Describe());
        var line = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal($"sharptitan train: error: checkpoint folder: cannot create {root}: a file of that name is in the way", line);
    }
}
