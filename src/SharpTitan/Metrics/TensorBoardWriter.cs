using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SharpTitan.Metrics;

/// <summary>TensorBoard event files through TorchSharp's SummaryWriter, one run folder per start.</summary>
internal sealed class TensorBoardWriter
{
    private readonly SummaryWriter _writer;
    public string RunFolder { get; }

    public TensorBoardWriter(string folder)
    {
        RunFolder = Path.Combine(folder, DateTime.Now.ToString("yyyyMMdd-HHmmss"));
        Directory.CreateDirectory(RunFolder);
        _writer = utils.tensorboard.SummaryWriter(RunFolder, createRunName: false);
    }

    public void Write(StepMetrics m)
    {
        _writer.add_scalar("loss_metrics/global_avg_loss", (float)m.Loss, m.Step);
        _writer.add_scalar("grad_norm", (float)m.GradNorm, m.Step);
        _writer.add_scalar("lr", (float)m.Lr, m.Step);
        _writer.add_scalar("throughput(tps)", (float)m.TokensPerSecond, m.Step);
        _writer.add_scalar("tflops", (float)m.Tflops, m.Step);
        if (m.MfuPercent is double mfu) _writer.add_scalar("mfu(%)", (float)mfu, m.Step);
        _writer.add_scalar("memory/rss(GiB)", (float)m.RssGiB, m.Step);
        _writer.add_scalar("memory/rss(%)", (float)m.RssPercent, m.Step);
        _writer.add_scalar("time_metrics/data_loading(%)", (float)m.DataWaitPercent, m.Step);
    }

    public void WriteScalar(string tag, double value, int step) => _writer.add_scalar(tag, (float)value, step);
}
