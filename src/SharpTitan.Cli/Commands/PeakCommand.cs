using SharpTitan.Metrics;
using SharpTitan.Native;
using static TorchSharp.torch;

namespace SharpTitan.Cli.Commands;

/// <summary>`sharptitan peak [--dtype bfloat16] [--threads N]`: measures and caches the CPU peak used for MFU.</summary>
public sealed class PeakCommand : ICommand
{
    public string Name => "peak";
    public string Summary => "measure this machine's matmul peak for MFU: [--dtype float32|bfloat16] [--threads N]";

    public int Run(string[] args)
    {
        string dtypeName = "float32";
        int threads = 0;
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new UsageException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--dtype": dtypeName = Next(); break;
                case "--threads":
                    if (!int.TryParse(Next(), out threads) || threads < 1) throw new UsageException("--threads expects a positive integer");
                    break;
                default: throw new UsageException($"unknown option '{args[i]}' (expected --dtype, --threads)");
            }
        }
        var dtype = Training.Trainer.ParseDtype(dtypeName);
        TorchRuntime.SetThreads(threads);
        double measured = PeakFlops.Measure(dtype);
        string path = PeakFlops.CachePath(dtype, get_num_threads());
        double peak = PeakFlops.Record(path, measured);
        Console.WriteLine($"measured: {measured:F3} TFLOP/s ({PeakFlops.Name(dtype)} matmul, {get_num_threads()} thread(s), {PeakFlops.CpuModel()}); " +
                          $"peak used for MFU (best seen): {peak:F3} TFLOP/s, cached in {path}");
        return 0;
    }
}
