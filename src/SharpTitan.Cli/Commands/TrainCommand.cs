using SharpTitan.Config;
using SharpTitan.Distributed;
using SharpTitan.Training;

namespace SharpTitan.Cli.Commands;

/// <summary>
/// `sharptitan train --config FILE [--section.key value ...]`. Under mpirun each process is one rank: rank 0
/// prints to the console, and with several ranks every rank also writes its log to DUMP_FOLDER/logs/rank_N.log.
/// </summary>
public sealed class TrainCommand : ICommand
{
    public string Name => "train";
    public string Summary => "train a model: --config FILE [--section.key value ...]";

    public int Run(string[] args)
    {
        var config = ConfigLoader.FromCommandLine(args);
        var world = DistributedRuntime.Initialize();
        if (config.Job.PrintConfig && world.Rank == 0) Console.WriteLine(ConfigPrinter.ToToml(config));
        using var log = RankLog.Open(config.Job.DumpFolder, world);
        try
        {
            using (var trainer = new Trainer(config, log, world: world)) trainer.Run();
        }
        catch (TrainingDivergedException e)
        {
            log.WriteLine($"sharptitan train: {e.Message}");
            Console.Error.WriteLine($"sharptitan train: {e.Message}");
            log.Flush();
            return 1;
        }
        log.Flush();
        DistributedRuntime.Shutdown();
        return 0;
    }
}
