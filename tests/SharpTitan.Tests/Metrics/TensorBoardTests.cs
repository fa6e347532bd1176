using SharpTitan.Tests.Support;
using SharpTitan.Training;

namespace SharpTitan.Tests.Metrics;

public class TensorBoardTests
{
    [Fact]
    public void EventFilesHoldTheLoggedScalars()
    {
        TestSetup.Torch();
        string dump = TestSetup.TempDir("tb");
        var config = TinyConfig.Create(steps: 3, overrides: ["--metrics.enable_tensorboard", "--metrics.log_freq", "1", "--job.dump_folder", dump]);
        IReadOnlyList<StepResult> results;
        using (var t = new Trainer(config, TextWriter.Null)) results = t.Run();

        var files = Directory.GetFiles(Path.Combine(dump, "tb"), "events.out.tfevents.*", SearchOption.AllDirectories);
        Assert.Single(files);
        var scalars = TensorBoardEventReader.ReadScalars(files[0]);
        var losses = scalars.Where(s => s.Tag == "loss_metrics/global_avg_loss").OrderBy(s => s.Step).ToList();
        Assert.Equal([1L, 2L, 3L], losses.Select(s => s.Step));
        for (int i = 0; i < 3; i++) Assert.Equal((float)results[i].Loss, losses[i].Value, 5);
        foreach (var tag in new[] { "grad_norm", "lr", "throughput(tps)", "tflops", "mfu(%)", "memory/rss(GiB)" })
            Assert.Contains(scalars, s => s.Tag == tag);
    }
}
