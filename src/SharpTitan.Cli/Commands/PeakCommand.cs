using System.CommandLine;
using SharpTitan.Metrics;
using SharpTitan.Native;
using static TorchSharp.torch;

namespace SharpTitan.Cli.Commands;

/// <summary>`sharptitan peak [--dtype bfloat16] [--threads N]`: measures and caches the CPU peak used for MFU.</summary>
public sealed class PeakCommand : VerbCommand
{
    private readonly Option<string> _dtype = new("--dtype") { Description = "the matmul dtype: float32 or bfloat16", DefaultValueFactory = _ => "float32" };
    private readonly Option<int?> _threads = new("--threads") { Description = "torch threads (default: libtorch's)", HelpName = "N" };

    public PeakCommand() : base("peak", "measure this machine's matmul peak for MFU: [--dtype float32|bfloat16] [--threads N]") =>
        Add(_dtype, _threads);

    protected override int Run(ParseResult parse)
    {
        int? threads = parse.GetValue(_threads);
        if (threads < 1) throw new UsageException("--threads expects a positive integer");
        var dtype = Training.Trainer.ParseDtype(parse.GetValue(_dtype)!);
        TorchRuntime.SetThreads(threads ?? 0);
        double measured = PeakFlops.Measure(dtype);
        string path = PeakFlops.CachePath(dtype, get_num_threads());
        double peak = PeakFlops.Record(path, measured);
        Console.WriteLine($"measured: {measured:F3} TFLOP/s ({PeakFlops.Name(dtype)} matmul, {get_num_threads()} thread(s), {PeakFlops.CpuModel()}); " +
                          $"peak used for MFU (best seen): {peak:F3} TFLOP/s, cached in {path}");
        return 0;
    }
}
