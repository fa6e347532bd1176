using SharpTitan.Cli.Commands;
using SharpTitan.Distributed;
using SharpTitan.MpiWorker;
using SharpTitan.Native;

// usage: SharpTitan.MpiWorker SCENARIO [key=value ...]   (run under mpirun; see Scenarios.cs)
//        SharpTitan.MpiWorker launch -n N -- SCENARIO ...  (the `sharptitan launch` command, relaunching this worker)
if (args.Length == 0)
{
    Console.Error.WriteLine($"usage: SharpTitan.MpiWorker SCENARIO [key=value...] (scenarios: {string.Join(", ", Scenarios.Names)})");
    return 2;
}
if (args[0] == "launch") return CommandLine.Run(args);

TorchRuntime.SetThreads(1);
var options = args.Skip(1).Select(a => a.Split('=', 2)).ToDictionary(p => p[0], p => p.Length > 1 ? p[1] : "");
var world = DistributedRuntime.Initialize();
var code = Scenarios.Run(args[0], world, options);
if (code != 0) return code; // no Shutdown: the runtime's exit hook must abort the job by itself
Console.WriteLine($"rank {world.Rank}/{world.Size}: {args[0]} ok ({Check.Count} checks)");
DistributedRuntime.Shutdown();
return 0;
