using System.Text.Json;

namespace SharpTitan.Metrics;

/// <summary>
/// The logged steps of one run, read back from a metrics.jsonl. Each line carries its run's id (`run`: 1 for the
/// first run into a dump folder, +1 for each fresh run after it; a resumed run keeps the id it continues; lines
/// written before run ids count as run 1). Within a run, a step logged twice (a run resumed from a checkpoint
/// older than its last logged step) keeps its latest line, so a run's points always go forward in steps.
/// </summary>
public sealed record RunHistory(string Label, int Run, IReadOnlyList<RunHistory.Point> Train, IReadOnlyList<(int Step, double Loss)> Validation)
{
    public sealed record Point(int Step, double Loss, double TokensPerSecond, double? Mfu);

    /// <summary>The name of a dump folder's metrics file (of rank 0, or of every rank with metrics.save_for_all_ranks).</summary>
    public static string FileName(int? rank = null) => rank is int r ? $"metrics_rank{r}.jsonl" : "metrics.jsonl";

    /// <summary>RUN_DIR/metrics.jsonl, or the path itself when it is a file.</summary>
    public static string FileOf(string runDirOrFile) =>
        Directory.Exists(runDirOrFile) ? Path.Combine(runDirOrFile, FileName()) : runDirOrFile;

    /// <summary>
    /// Every run in RUN_DIR/metrics.jsonl (or the file itself) with training steps, oldest first. The label is the run
    /// folder's name, followed by "run N" when the file holds several runs.
    /// </summary>
    public static IReadOnlyList<RunHistory> Load(string runDirOrFile)
    {
        string file = FileOf(runDirOrFile);
        if (!File.Exists(file)) throw new FileNotFoundException($"no metrics file at {file} (a run folder holds metrics.jsonl)");
        string folder = Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(file))!) ?? file;
        var train = new SortedDictionary<int, SortedDictionary<int, Point>>();
        var validation = new SortedDictionary<int, SortedDictionary<int, double>>();
        foreach (var (run, r) in Records(file))
        {
            int step = r.GetProperty("step").GetInt32();
            if (r.TryGetProperty("validation_loss", out var v) && v.ValueKind == JsonValueKind.Number)
                Of(validation, run)[step] = v.GetDouble();
            if (r.TryGetProperty("loss", out var loss))
                Of(train, run)[step] = new Point(step, loss.GetDouble(), r.GetProperty("tps").GetDouble(),
                    r.TryGetProperty("mfu", out var mfu) && mfu.ValueKind == JsonValueKind.Number ? mfu.GetDouble() : null);
        }
        if (train.Count == 0) throw new InvalidDataException($"{file} has no training steps");
        return train.Select(t => new RunHistory(train.Count == 1 ? folder : $"{folder} run {t.Key}", t.Key, t.Value.Values.ToList(),
            validation.TryGetValue(t.Key, out var val) ? val.Select(p => (p.Key, p.Value)).ToList() : [])).ToList();
    }

    /// <summary>The run id of the last line of <paramref name="file"/>; 0 when it is missing or empty.</summary>
    public static int LastRun(string file) => File.Exists(file) ? Records(file).Select(r => r.Run).LastOrDefault() : 0;

    /// <summary>Whether the file's last byte ends a line (an empty or missing file counts as ended).</summary>
    public static bool EndsWithNewline(string file)
    {
        if (!File.Exists(file)) return true;
        using var fs = File.OpenRead(file);
        if (fs.Length == 0) return true;
        fs.Seek(-1, SeekOrigin.End);
        return fs.ReadByte() == '\n';
    }

    /// <summary>
    /// Each line of a metrics file with its run id (1 when the line has none). A last line cut short (no newline: the
    /// process was killed while writing it) is skipped; any other line that is not JSON is an error naming it.
    /// </summary>
    private static IEnumerable<(int Run, JsonElement Line)> Records(string file)
    {
        var lines = File.ReadAllLines(file);
        bool lastCutShort = !EndsWithNewline(file);
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i];
            if (line.Trim().Length == 0) continue;
            JsonElement? parsed = null;
            try
            {
                using var doc = JsonDocument.Parse(line);
                parsed = doc.RootElement.Clone();
            }
            catch (JsonException) when (lastCutShort && i == lines.Length - 1) { }
            catch (JsonException) { throw new InvalidDataException($"{file}:{i + 1}: not a JSON line"); }
            if (parsed is not { } r) yield break;
            yield return (r.TryGetProperty("run", out var run) ? run.GetInt32() : 1, r);
        }
    }

    private static SortedDictionary<int, T> Of<T>(SortedDictionary<int, SortedDictionary<int, T>> runs, int run) =>
        runs.TryGetValue(run, out var steps) ? steps : runs[run] = new SortedDictionary<int, T>();
}
