using SharpTitan.Cli.Commands;
using SharpTitan.Config;
using SharpTitan.Training;

namespace SharpTitan.Tests.Data;

/// <summary>The trainer reading a prepared token file, and [validation] printing a loss.</summary>
public class TrainerDataTests
{
    private static JobConfig TinyJob(string datasetPath)
    {
        var c = new JobConfig();
        c.Model.TokenizerPath = SharedData.TestTiktoken;
        c.Training.Dataset = "c4_test";
        c.Training.DatasetPath = datasetPath;
        c.Training.SeqLen = 32;
        c.Training.LocalBatchSize = 2;
        c.Training.Steps = 2;
        c.Training.NumThreads = 1;
        c.ActivationCheckpoint.Mode = ActivationCheckpointMode.None;
        c.Metrics.PeakTflops = 1;
        c.Metrics.LogFreq = 1;
        c.Metrics.DisableColorPrinting = true;
        c.Debug.Seed = 7;
        return c;
    }

    [Fact]
    public void PrepareDataOutputTrainsAndValidationPrintsALoss()
    {
        using var dir = new TempDir();
        string bin = dir.File("c4.bin");
        Assert.Equal(0, new PrepareDataCommand().Run(["--tokenizer", SharedData.TestTiktoken, "--dataset-path", SharedData.C4Sample, "--out", bin]));
        Assert.True(File.Exists(dir.File("c4.idx")));

        var config = TinyJob(bin);
        config.Validation.Enable = true;
        config.Validation.DatasetPath = SharedData.C4Validation;
        config.Validation.SeqLen = 32;
        config.Validation.LocalBatchSize = 2;
        config.Validation.Steps = 3;
        config.Validation.Freq = 1;
        var log = new StringWriter();
        using (var trainer = new Trainer(config, log))
        {
            var steps = trainer.Run();
            Assert.Equal(2, steps.Count);
        }
        string output = log.ToString();
        Assert.Contains("data: token file " + bin, output);
        var lines = output.Split('\n').Where(l => l.StartsWith("validation: step")).ToList();
        Assert.Equal(2, lines.Count);
        // near ln(2256) = 7.72 for a fresh model; never NaN
        double loss = double.Parse(lines[0].Split("loss:")[1].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(loss, 5, 10);
    }

    [Fact]
    public void ValidationEvaluatesTheSameFixedBatchesEachTime()
    {
        var config = TinyJob(SharedData.C4Sample);
        config.Validation.DatasetPath = SharedData.C4Validation;
        config.Validation.SeqLen = 32;
        config.Validation.LocalBatchSize = 2;
        config.Validation.Steps = 2;
        using var trainer = new Trainer(config, new StringWriter());
        var tokenizer = SharpTitan.Data.TokenizerLoader.Load(SharedData.TestTiktoken);
        var validator = new Validator(config.Validation, 32, new SharpTitan.Data.TextOptions(), tokenizer, new StringWriter());
        var first = validator.Evaluate(trainer.Parts);
        var second = validator.Evaluate(trainer.Parts);
        Assert.Equal(first, second);
        Assert.Equal(2, first.Batches);
        trainer.TrainStep(1);
        Assert.NotEqual(first.Loss, validator.Evaluate(trainer.Parts).Loss);
    }
}
