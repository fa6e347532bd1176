using System.Diagnostics;
using System.Text.Json;
using SharpTitan.Commands;

namespace SharpTitan.Benchmarks;

/// <summary>
/// Runs one benchmark case in its own process(es), so its timings and peak RSS are its own: this program with
/// `verb case-json`, under mpirun (`sharptitan launch`) when it needs more than one rank. The case writes its
/// result as JSON to a file named in the case.
/// </summary>
internal static class CaseProcess
{
    /// <summary>Runs the case and returns the result it wrote (keeping the file only when <paramref name="keepOutput"/>).</summary>
    public static T Run<T>(string verb, int ranks, string label, object @case, string outputFile, bool keepOutput = false)
    {
        string json = JsonSerializer.Serialize(@case);
        int rc = ranks == 1 ? RunChild([verb, json]) : new LaunchCommand().Run(["-n", ranks.ToString(), "--", verb, json]);
        if (rc != 0) throw new InvalidOperationException($"{label}: exit code {rc}");
        var result = JsonSerializer.Deserialize<T>(File.ReadAllText(outputFile))!;
        if (!keepOutput) File.Delete(outputFile);
        return result;
    }

    private static int RunChild(string[] args)
    {
        using var p = Process.Start(new ProcessStartInfo(Environment.ProcessPath!, args))!;
        p.WaitForExit();
        return p.ExitCode;
    }
}
