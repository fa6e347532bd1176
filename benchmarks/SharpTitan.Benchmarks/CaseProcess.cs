using System.Diagnostics;
using System.Text.Json;
using SharpTitan.Cli.Commands;

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

    /// <summary>One-rank cases run side by side, each in its own process; their results in the cases' order.</summary>
    public static T[] RunTogether<T>(string verb, string label, IReadOnlyList<object> cases, IReadOnlyList<string> outputFiles)
    {
        var children = cases.Select(c => StartChild([verb, JsonSerializer.Serialize(c)])).ToList();
        foreach (var p in children) p.WaitForExit();
        int[] codes = children.Select(p => p.ExitCode).ToArray();
        foreach (var p in children) p.Dispose();
        if (codes.Any(rc => rc != 0)) throw new InvalidOperationException($"{label}: exit codes {string.Join(", ", codes)}");
        var results = outputFiles.Select(f => JsonSerializer.Deserialize<T>(File.ReadAllText(f))!).ToArray();
        foreach (var f in outputFiles) File.Delete(f);
        return results;
    }

    private static int RunChild(string[] args)
    {
        using var p = StartChild(args);
        p.WaitForExit();
        return p.ExitCode;
    }

    private static Process StartChild(string[] args) => Process.Start(new ProcessStartInfo(Environment.ProcessPath!, args))!;
}
