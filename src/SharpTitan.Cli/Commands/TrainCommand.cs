using System.CommandLine;
using SharpTitan.Distributed;
using SharpTitan.Training;

namespace SharpTitan.Cli.Commands;

/// <summary>
/// `sharptitan train --config FILE [--section.key value ...]`. Under mpirun each process is one rank: rank 0
/// prints to the console, and with several ranks every rank also writes its log to DUMP_FOLDER/logs/rank_N.log.
/// SIGTERM, SIGINT or SIGUSR1 stop it gracefully (see <see cref="StopRequest"/>): exit code 75 after the save.
/// </summary>
public sealed class TrainCommand : VerbCommand
{
    private readonly ConfigArguments _config = new();

    public TrainCommand() : base("train", "train a model: --config FILE [--section.key value ...]") => _config.AddTo(Command);

    public override string HelpNotes => ConfigArguments.HelpNotes;

    protected override int Run(ParseResult parse)
    {
        var config = _config.Load(parse);
        var world = DistributedRuntime.Initialize();
        if (config.Job.PrintConfig && world.Rank == 0) Console.WriteLine(Config.ConfigPrinter.ToToml(config));
        using var log = RankLog.Open(config.Job.DumpFolder, world);
        var synchronizedLog = TextWriter.Synchronized(log); // the signal handler writes too
        // Installed until the process ends: after a first signal, a second one always stops at once.
        using var stop = new StopRequest(synchronizedLog.WriteLine);
        int? stoppedAfter;
        try
        {
            using var trainer = new Trainer(config, synchronizedLog, world: world) { Stop = stop };
            trainer.Run();
            stoppedAfter = trainer.StoppedAfterStep;
        }
        catch (Exception e) when (e is TrainingDivergedException or DeviceOutOfMemoryException)
        {
            log.WriteLine($"sharptitan train: {e.Message}");
            Console.Error.WriteLine($"sharptitan train: {e.Message}");
            log.Flush();
            return ExitCodes.Failure;
        }
        log.Flush();
        DistributedRuntime.Shutdown(); // every rank finalizes, so a preempted job exits with its own code, not MPI_Abort's
        return stoppedAfter == null ? ExitCodes.Success : ExitCodes.Preempted;
    }
}
