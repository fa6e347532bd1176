namespace SharpTitan.Data;

/// <summary>
/// A dataset's documents in a fixed order (files sorted, records in file order), readable from any position so a
/// loader can resume exactly. Records without text are skipped and counted (the first is logged). Invalid UTF-8 is
/// replaced with U+FFFD and counted; each file that has any is logged once, with its count, when its reading ends.
/// </summary>
public sealed class DocumentSource
{
    private readonly Func<string, IRecordFormat> _formatOf;
    private readonly HashSet<int> _reportedInvalidUtf8 = [];
    private long _skipped, _invalidUtf8;

    internal DocumentSource(string name, IReadOnlyList<string> files, Func<string, IRecordFormat> formatOf)
    {
        Name = name;
        Files = files;
        _formatOf = formatOf;
    }

    public string Name { get; }
    public IReadOnlyList<string> Files { get; }
    /// <summary>Receives the one-time notes: the first skipped record, and each file's invalid UTF-8 count.</summary>
    public Action<string>? Log { get; set; }
    /// <summary>Records without text skipped so far (each time they are read, so per epoch).</summary>
    public long SkippedRecords => Interlocked.Read(ref _skipped);
    /// <summary>Invalid UTF-8 byte sequences replaced with U+FFFD so far (each time they are read, so per epoch).</summary>
    public long InvalidUtf8Sequences => Interlocked.Read(ref _invalidUtf8);

    /// <summary>The documents from <paramref name="from"/> to the end of the dataset (one epoch's remainder).</summary>
    public IEnumerable<(DocumentPosition Position, string Text)> Read(DocumentPosition from)
    {
        for (int f = from.File; f < Files.Count; f++)
        {
            long record = f == from.File ? from.Record : 0;
            var utf8 = new Utf8Decoding();
            try
            {
                foreach (var text in _formatOf(Files[f]).Read(Files[f], record, utf8))
                {
                    var position = new DocumentPosition(f, record++);
                    if (text == null)
                    {
                        if (Interlocked.Increment(ref _skipped) == 1)
                            Log?.Invoke($"{Files[f]}: record {position.Record + 1} has no text; skipping such records (counted in the epoch summary)");
                        continue;
                    }
                    yield return (position, text);
                }
            }
            finally { ReportInvalidUtf8(f, utf8.InvalidSequences); }
        }
    }

    private void ReportInvalidUtf8(int file, long count)
    {
        if (count == 0) return;
        Interlocked.Add(ref _invalidUtf8, count);
        lock (_reportedInvalidUtf8)
            if (!_reportedInvalidUtf8.Add(file)) return;
        Log?.Invoke($"{Files[file]}: {count:N0} invalid UTF-8 byte sequence(s) replaced with U+FFFD (reported once per file)");
    }

    /// <summary>All documents of one epoch, from the start.</summary>
    public IEnumerable<string> Documents() => Read(default).Select(d => d.Text);
}
