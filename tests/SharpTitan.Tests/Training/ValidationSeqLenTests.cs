using SharpTitan.Config;
using SharpTitan.Tests.Support;
using SharpTitan.Training;

namespace SharpTitan.Tests.Training;

/// <summary>validation.seq_len unset follows training.seq_len; an explicit value is kept.</summary>
public class ValidationSeqLenTests
{
    private static string ValidateOnce(params string[] overrides)
    {
        TestSetup.Torch();
        var config = TinyConfig.Create(steps: 1, overrides: ["--validation.enable", "--validation.dataset", "sample", "--validation.freq", "1",
            "--validation.steps", "1", "--validation.local_batch_size", "1", .. overrides]);
        var log = new StringWriter();
        using (var trainer = new Trainer(config, log)) trainer.Run();
        return log.ToString().Split('\n').Single(l => l.StartsWith("validation: step", StringComparison.Ordinal));
    }

    [Fact]
    public void UnsetFollowsTrainingSeqLen()
    {
        Assert.Null(new JobConfig().Validation.SeqLen);
        Assert.Contains("# seq_len = (unset)", ConfigPrinter.ToToml(new JobConfig()).Split("[validation]")[1]);
        Assert.Contains("(1 batch(es) of 1 x 32 from sample)", ValidateOnce()); // TinyConfig trains at seq_len 32, not 2048
        Assert.Equal(256, ConfigLoader.Load(null, ["--training.seq_len", "256", "--validation.enable"]).Validation.SeqLenFor(256));
    }

    [Fact]
    public void AnExplicitValueIsKept() => Assert.Contains("(1 batch(es) of 1 x 16 from sample)", ValidateOnce("--validation.seq_len", "16"));
}
