using System.Text.Json;

namespace SharpTitan.Metrics;

/// <summary>
/// One JSON line per logged step in {dump_folder}/metrics.jsonl (or metrics_rank{r}.jsonl for every rank), each with
/// the id of its run (<see cref="RunHistory"/>): a fresh run appends under the next id, a resumed run under the id
/// of the file's last line.
/// </summary>
internal sealed class MetricsFileWriter : IDisposable
{
    private readonly StreamWriter _writer;
    public string Path { get; }
    /// <summary>The run id this start writes under.</summary>
    public int Run { get; }

    public MetricsFileWriter(string dumpFolder, int? rank, bool resumed)
    {
        Directory.CreateDirectory(dumpFolder);
        Path = System.IO.Path.Combine(dumpFolder, RunHistory.FileName(rank));
        int last = RunHistory.LastRun(Path);
        Run = resumed ? Math.Max(last, 1) : last + 1;
        if (!RunHistory.EndsWithNewline(Path)) DropUnfinishedLine(Path);
        _writer = new StreamWriter(Path, append: true) { AutoFlush = true };
    }

    /// <summary>Cuts off the last line a killed run left without its newline (it was never a whole record).</summary>
    private static void DropUnfinishedLine(string path)
    {
        var bytes = File.ReadAllBytes(path);
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Write);
        fs.SetLength(Array.LastIndexOf(bytes, (byte)'\n') + 1);
    }

    public void Write(StepMetrics m, double? validationLoss = null) =>
        _writer.WriteLine(JsonSerializer.Serialize(new MetricsRecord(
            Run, m.Step, m.Loss, m.GradNorm, m.Lr, m.TokensPerSecond, m.Tflops, m.MfuPercent, m.RssGiB, m.RssPercent,
            m.DataWaitPercent, validationLoss, DateTime.UtcNow.ToString("o"))));

    public void WriteValidation(int step, double validationLoss) =>
        _writer.WriteLine(JsonSerializer.Serialize(new { run = Run, step, validation_loss = validationLoss, time = DateTime.UtcNow.ToString("o") }));

    public void Dispose() => _writer.Dispose();
}

/// <summary>The fields of a metrics.jsonl line (snake_case as torchtitan's metric names).</summary>
internal sealed record MetricsRecord(
    [property: System.Text.Json.Serialization.JsonPropertyName("run")] int Run,
    [property: System.Text.Json.Serialization.JsonPropertyName("step")] int Step,
    [property: System.Text.Json.Serialization.JsonPropertyName("loss")] double Loss,
    [property: System.Text.Json.Serialization.JsonPropertyName("grad_norm")] double GradNorm,
    [property: System.Text.Json.Serialization.JsonPropertyName("lr")] double Lr,
    [property: System.Text.Json.Serialization.JsonPropertyName("tps")] double TokensPerSecond,
    [property: System.Text.Json.Serialization.JsonPropertyName("tflops")] double Tflops,
    [property: System.Text.Json.Serialization.JsonPropertyName("mfu")] double? MfuPercent,
    [property: System.Text.Json.Serialization.JsonPropertyName("memory_gib")] double MemoryGiB,
    [property: System.Text.Json.Serialization.JsonPropertyName("memory_pct")] double MemoryPercent,
    [property: System.Text.Json.Serialization.JsonPropertyName("data_wait_pct")] double DataWaitPercent,
    [property: System.Text.Json.Serialization.JsonPropertyName("validation_loss")] double? ValidationLoss,
    [property: System.Text.Json.Serialization.JsonPropertyName("time")] string Time);
