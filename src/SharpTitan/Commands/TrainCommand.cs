using SharpTitan.Config;
using SharpTitan.Training;

namespace SharpTitan.Commands;

/// <summary>`sharptitan train --config FILE [--section.key value ...]`</summary>
public sealed class TrainCommand : ICommand
{
    public string Name => "train";
    public string Summary => "train a model: --config FILE [--section.key value ...]";

    public int Run(string[] args)
    {
        var config = ConfigLoader.FromCommandLine(args);
        if (config.Job.PrintConfig) Console.WriteLine(ConfigPrinter.ToToml(config));
        try
        {
            using var trainer = new Trainer(config);
            trainer.Run();
        }
        catch (TrainingDivergedException e)
        {
            Console.Error.WriteLine($"sharptitan train: {e.Message}");
            return 1;
        }
        return 0;
    }
}
