namespace SharpTitan.Tests.Support;

/// <summary>
/// Trains each distinct <see cref="TinyRun"/> once and hands out its dump folder afterwards, so rows that share
/// a reference (or a run) pay for it once. A test class takes it as a class fixture.
/// </summary>
public sealed class TinyRunCache
{
    private readonly Dictionary<string, string> _dumps = new();

    /// <summary>The dump folder of <paramref name="run"/>, trained now if no run of the same ranks and arguments was.</summary>
    public string Train(TinyRun run)
    {
        if (run.DumpFolder != null) throw new ArgumentException("a cached run picks its own dump folder", nameof(run));
        var key = $"{run.Ranks} rank(s): {string.Join(' ', run.Arguments())}";
        lock (_dumps)
            return _dumps.TryGetValue(key, out var dump) ? dump : _dumps[key] = run.Train();
    }
}
