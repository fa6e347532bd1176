using System.Globalization;

namespace SharpTitan.Metrics;

/// <summary>The per-step console line (rank 0), coloured on a terminal unless disabled.</summary>
internal sealed class ConsoleMetricsWriter(TextWriter output, bool color)
{
    /// <summary>Set by `sharptitan launch` for its ranks: "1" when the launcher's own output is a terminal.</summary>
    public const string ColorVariable = "SHARPTITAN_COLOR";

    public static bool ShouldColor(bool disabled) =>
        !disabled && Environment.GetEnvironmentVariable("NO_COLOR") == null
                  && (Environment.GetEnvironmentVariable(ColorVariable) is { } launched ? launched == "1" : !Console.IsOutputRedirected);

    public void Write(StepMetrics m)
    {
        string C(string code, string text) => color ? $"\u001b[{code}m{text}\u001b[0m" : text;
        var ci = CultureInfo.InvariantCulture;
        double remaining = m.Step > 0 ? m.ElapsedSeconds / m.Step * (m.TotalSteps - m.Step) : 0;
        // No MFU (float8: not well-defined): the field is left out, not shown as 0.
        string line = string.Join("  ", new[] {
            C("31", $"step: {m.Step,5}"),
            C("32", string.Format(ci, "loss: {0,8:F4}", m.Loss)),
            C("33", string.Format(ci, "grad_norm: {0,7:F4}", m.GradNorm)),
            C("36", string.Format(ci, "memory: {0,5:F2}GiB({1:F2}%)", m.RssGiB, m.RssPercent)),
            C("34", string.Format(ci, "tps: {0:N0}", m.TokensPerSecond)),
            C("36", string.Format(ci, "tflops: {0:F3}", m.Tflops)),
            m.MfuPercent is double mfu ? C("35", string.Format(ci, "mfu: {0:F2}%", mfu)) : null,
            string.Format(ci, "lr: {0:E3}", m.Lr),
            string.Format(ci, "data_wait: {0:F1}%", m.DataWaitPercent),
            string.Format(ci, "eta: {0}", FormatDuration(remaining)) }.OfType<string>());
        output.WriteLine(line);
        output.Flush();
    }

    public static string FormatDuration(double seconds)
    {
        var t = TimeSpan.FromSeconds(Math.Max(0, seconds));
        return t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes:D2}m" : t.TotalMinutes >= 1 ? $"{t.Minutes}m{t.Seconds:D2}s" : $"{t.Seconds}s";
    }
}
