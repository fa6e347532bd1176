using System.Globalization;

namespace SharpTitan.Metrics;

/// <summary>
/// The closing lines of a run (every rank's log; rank 0's is the console): the steps this start ran, the tokens of
/// those steps (global batch x seq_len each), the wall time, the final and best loss, tokens/s per device, TFLOP/s and
/// MFU as means over the wall time (validation and checkpoints included), and where the enabled outputs went.
/// </summary>
/// <param name="Losses">Each step this start ran, in order, with its loss.</param>
/// <param name="Outputs">What was written and where, e.g. ("metrics", "outputs/metrics.jsonl (run 2)").</param>
internal sealed record RunSummary(IReadOnlyList<(int Step, double Loss)> Losses, long Tokens, TimeSpan Wall, Rates Mean,
    IReadOnlyList<(string What, string Where)> Outputs)
{
    public const string Prefix = "summary: ";

    public IEnumerable<string> Lines()
    {
        var ci = CultureInfo.InvariantCulture;
        if (Losses.Count == 0) yield return $"{Prefix}no steps ran";
        else
        {
            var best = Losses.MinBy(l => l.Loss);
            yield return string.Format(ci, "{0}{1} steps ({2}-{3}), {4:N0} tokens in {5}", Prefix, Losses.Count, Losses[0].Step, Losses[^1].Step, Tokens, Duration(Wall));
            yield return string.Format(ci, "{0}loss {1:F4} final, {2:F4} best (step {3})", Prefix, Losses[^1].Loss, best.Loss, best.Step);
            yield return string.Format(ci, "{0}{1:N0} tokens/s per device, {2:F3} TFLOP/s{3} (means over the wall time)", Prefix,
                Mean.TokensPerSecond, Mean.Tflops, Mean.MfuPercent is double mfu ? string.Format(ci, ", MFU {0:F2}%", mfu) : "");
        }
        foreach (var (what, where) in Outputs) yield return $"{Prefix}{what} in {where}";
    }

    /// <summary>Seconds with a tenth under a minute (short runs), else as the metrics line's eta.</summary>
    private static string Duration(TimeSpan t) =>
        t.TotalSeconds < 60 ? string.Format(CultureInfo.InvariantCulture, "{0:F1} s", t.TotalSeconds) : ConsoleMetricsWriter.FormatDuration(t.TotalSeconds);
}
