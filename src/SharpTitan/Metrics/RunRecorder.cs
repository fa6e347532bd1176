using SharpTitan.Config;
using SharpTitan.IO;

namespace SharpTitan.Metrics;

/// <summary>
/// Everything a run records besides the model: the metrics line (into the rank's log), metrics.jsonl,
/// TensorBoard, profiling traces and memory snapshots, driven by the [metrics] and [profiling] sections.
/// metrics.jsonl and TensorBoard on rank 0 unless metrics.save_for_all_ranks; traces and memory snapshots on
/// every rank.
/// </summary>
internal sealed class RunRecorder : IDisposable
{
    private readonly JobConfig _config;
    private readonly int _rank;
    private readonly ConsoleMetricsWriter _console;
    private readonly MetricsFileWriter? _file;
    private readonly ProfilingSchedule? _profiling;
    public TensorBoardWriter? TensorBoard { get; }

    /// <param name="resumed">The run continues from a checkpoint: metrics.jsonl goes on under its run id.</param>
    public RunRecorder(JobConfig config, TextWriter log, int rank = 0, bool resumed = false)
    {
        _config = config;
        _rank = rank;
        bool writes = rank == 0 || config.Metrics.SaveForAllRanks;
        // The log decides where lines go (rank 0: console; every rank: its log file under several ranks).
        _console = new ConsoleMetricsWriter(log, ConsoleMetricsWriter.ShouldColor(config.Metrics.DisableColorPrinting) && rank == 0);
        if (writes)
        {
            try { _file = new MetricsFileWriter(config.Job.DumpFolder, config.Metrics.SaveForAllRanks ? rank : null, resumed); }
            catch (Exception e) when (StorageException.IsFileSystemError(e))
            {
                throw StorageException.For("metrics: cannot write to the dump folder", config.Job.DumpFolder, e);
            }
            if (config.Metrics.EnableTensorboard)
            {
                string folder = Path.Combine(config.Job.DumpFolder, config.Metrics.SaveTbFolder);
                if (config.Metrics.SaveForAllRanks) folder = Path.Combine(folder, $"rank{rank}");
                try { TensorBoard = new TensorBoardWriter(folder); }
                catch (Exception e) when (StorageException.IsFileSystemError(e))
                {
                    _file?.Dispose();
                    throw StorageException.For("tensorboard: cannot write", folder, e);
                }
            }
        }
        var p = config.Profiling;
        if (p.EnableProfiling) _profiling = new ProfilingSchedule(p.ProfileFreq, p.ProfilerActive);
    }

    public string? MetricsFile => _file?.Path;
    /// <summary>The run id metrics.jsonl records this start under.</summary>
    public int? MetricsRun => _file?.Run;

    /// <summary>What this rank records and where, for the run's summary (only what is enabled).</summary>
    public IEnumerable<(string What, string Where)> Outputs()
    {
        if (_file != null) yield return ("metrics", $"{_file.Path} (run {_file.Run})");
        if (TensorBoard != null) yield return ("TensorBoard files", TensorBoard.RunFolder);
        var p = _config.Profiling;
        if (_profiling != null) yield return ("traces", Path.Combine(_config.Job.DumpFolder, p.SaveTracesFolder));
        if (p.EnableMemorySnapshot) yield return ("memory snapshots", Path.Combine(_config.Job.DumpFolder, p.SaveMemorySnapshotFolder));
    }

    /// <summary>Call before a step runs: opens a trace window when this step is profiled.</summary>
    public void BeginStep(int step)
    {
        if (_profiling?.Records(step) == true && !Tracer.Active) Tracer.Start(operators: _config.Profiling.RecordOperators);
    }

    /// <summary>Call after a step: writes the trace at the end of a profiling cycle, and memory snapshots.</summary>
    public void EndStep(int step, Func<long> trainingStateBytes)
    {
        if (_profiling != null && _profiling.WritesAfter(step) && Tracer.Active)
        {
            string path = Path.Combine(_config.Job.DumpFolder, _config.Profiling.SaveTracesFolder, $"iteration_{step}", $"rank{_rank}_trace.json");
            Tracer.StopAndWrite(path, _rank);
        }
        var p = _config.Profiling;
        if (p.EnableMemorySnapshot && step % p.MemorySnapshotFreq == 0)
            MemorySnapshot.Append(Path.Combine(_config.Job.DumpFolder, p.SaveMemorySnapshotFolder), _rank, step, trainingStateBytes());
    }

    public void Log(StepMetrics m)
    {
        _console.Write(m);
        _file?.Write(m);
        TensorBoard?.Write(m);
    }

    public void LogValidation(int step, double loss)
    {
        _file?.WriteValidation(step, loss);
        TensorBoard?.WriteScalar("validation_metrics/loss", loss, step);
    }

    public void Dispose() => _file?.Dispose();
}
