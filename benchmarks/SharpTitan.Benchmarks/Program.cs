using SharpTitan.Benchmarks;

// dotnet run -c Release --project benchmarks/SharpTitan.Benchmarks -- <benchmark> [results folder]
// Each benchmark writes <benchmark>.json (data: data.md) into the results folder, benchmarks/results by default.
string which = args.Length > 0 ? args[0] : "";
string results = args.Length > 1 && which is not ("compare" or "train-case" or "acmp-case" or "fsdp-scaling-case" or "checkpoint-case" or "float8-fsdp-case" or "tp-case" or "pp-case" or "cp-case" or "gpu-case" or "nccl-check" or "loss-case") ? args[1] : Path.Combine("benchmarks", "results");
Directory.CreateDirectory(results);
switch (which)
{
    case "train": TrainThroughput.Run(results); break;
    case "train-case": TrainThroughput.RunCase(System.Text.Json.JsonSerializer.Deserialize<TrainThroughput.Case>(args[1])!); break;
    case "ac" or "ac-mmap" or "mp" or "ac-fsdp" or "norm": AcPrecisionBench.Run(results, which); break;
    case "acmp-case": AcPrecisionBench.RunCase(System.Text.Json.JsonSerializer.Deserialize<AcPrecisionBench.Case>(args[1])!); break;
    case "fsdp-scaling": FsdpBench.Run(results, args.Length > 2 ? int.Parse(args[2]) : 3); break;
    case "fsdp-scaling-case": FsdpBench.RunCase(System.Text.Json.JsonSerializer.Deserialize<FsdpBench.Case>(args[1])!); break;
    case "float8": Float8Bench.Run(results); break;
    // generated inputs for benchmarks/gpu/check_float8.py, not results: by default under the ignored benchmarks/out
    case "float8-vectors": Float8Vectors.Write(args.Length > 1 ? args[1] : Path.Combine("benchmarks", "out", "float8-vectors")); break;
    case "float8-fsdp-case": Float8Bench.RunCase(System.Text.Json.JsonSerializer.Deserialize<Float8Bench.FsdpCase>(args[1])!); break;
    case "tp": TpBench.Run(results); break;
    case "tp-case": TpBench.RunCase(System.Text.Json.JsonSerializer.Deserialize<TpBench.Case>(args[1])!); break;
    case "pp": PpBench.Run(results); break;
    case "pp-zb": PpBench.RunZeroBubble(results); break;
    case "pp-case": PpBench.RunCase(System.Text.Json.JsonSerializer.Deserialize<PpBench.Case>(args[1])!); break;
    // cp [results] [steps] [seq lens, comma-separated]: one process against CP 2 per rotate method (results/cp.json)
    case "cp": CpBench.Run(results, args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 3,
        args.Length > 3 ? [.. args[3].Split(',').Select(s => int.Parse(s, System.Globalization.CultureInfo.InvariantCulture))] : [8192, 16384, 32768]); break;
    case "cp-case": CpBench.RunCase(System.Text.Json.JsonSerializer.Deserialize<CpBench.Case>(args[1])!); break;
    case "data": return DataPipelineBench.Run(results, args.Length > 2 ? int.Parse(args[2]) : 4);
    case "checkpoint": CheckpointBench.Run(results); break;
    case "checkpoint-case": CheckpointBench.RunCase(System.Text.Json.JsonSerializer.Deserialize<CheckpointBench.Case>(args[1])!); break;
    // compare OTHER_BINARY [rounds]: train and FSDP cases of this build and another, side by side (results/compare.json)
    case "compare" when args.Length > 1: return BuildComparison.Run(results, args[1], args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 3,
        pipeline: args.Length > 3 && args[3] == "pp");
    // one GPU case (benchmarks/gpu/run.sh): prints a JSON line
    case "gpu-case": GpuBench.RunCase(System.Text.Json.JsonSerializer.Deserialize<GpuBench.Case>(args[1])!); break;
    // the NCCL and one-rank FSDP / TP checks on a GPU (benchmarks/gpu/run.sh): JSON lines, exit 1 when one fails
    case "nccl-check": return GpuCollectivesCheck.Run(hostOnly: args.Length > 1 && args[1] == "--host-layouts");
    // loss: the chunked cross-entropy against F.cross_entropy on fp32 logits, forward + backward (results/loss.json)
    case "loss": LossBench.Run(results); break;
    case "loss-case": LossBench.RunCase(System.Text.Json.JsonSerializer.Deserialize<LossBench.Case>(args[1])!); break;
    case "soak": Soak.Run(results, args.Length > 2 ? int.Parse(args[2]) : 2000); break;
    default:
        Console.Error.WriteLine("usage: SharpTitan.Benchmarks train|fsdp-scaling|compare OTHER_BINARY|tp|pp|cp|float8|float8-vectors|data|checkpoint|ac|ac-mmap|mp|ac-fsdp|norm|loss|soak [results-folder] [soak-steps | data-train-steps | fsdp-scaling-rounds]");
        return 2;
}
return 0;
