using System.Text.Json;

namespace SharpTitan.Metrics;

/// <summary>The logged steps of one run, read back from its metrics.jsonl.</summary>
public sealed record RunHistory(string Label, IReadOnlyList<RunHistory.Point> Train, IReadOnlyList<(int Step, double Loss)> Validation)
{
    public sealed record Point(int Step, double Loss, double TokensPerSecond, double? Mfu);

    /// <summary>Reads RUN_DIR/metrics.jsonl (or the file itself); the label is the run folder's name.</summary>
    public static RunHistory Load(string runDirOrFile)
    {
        string file = Directory.Exists(runDirOrFile) ? Path.Combine(runDirOrFile, "metrics.jsonl") : runDirOrFile;
        if (!File.Exists(file)) throw new FileNotFoundException($"no metrics file at {file} (a run folder holds metrics.jsonl)");
        string label = Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(file))!) ?? file;
        var train = new List<Point>();
        var validation = new List<(int, double)>();
        int lineNo = 0;
        foreach (var line in File.ReadLines(file))
        {
            lineNo++;
            if (line.Trim().Length == 0) continue;
            JsonDocument doc;
            try { doc = JsonDocument.Parse(line); }
            catch (JsonException) { throw new InvalidDataException($"{file}:{lineNo}: not a JSON line"); }
            using (doc)
            {
                var r = doc.RootElement;
                int step = r.GetProperty("step").GetInt32();
                if (r.TryGetProperty("validation_loss", out var v) && v.ValueKind == JsonValueKind.Number) validation.Add((step, v.GetDouble()));
                if (r.TryGetProperty("loss", out var loss))
                    train.Add(new Point(step, loss.GetDouble(), r.GetProperty("tps").GetDouble(),
                        r.TryGetProperty("mfu", out var mfu) && mfu.ValueKind == JsonValueKind.Number ? mfu.GetDouble() : null));
            }
        }
        if (train.Count == 0) throw new InvalidDataException($"{file} has no training steps");
        return new RunHistory(label, train, validation);
    }
}
