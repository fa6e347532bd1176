using System.Text.Json;

namespace SharpTitan.Data;

/// <summary>
/// JSON lines (.jsonl, .json; gzipped as C4 ships them: .json.gz, .jsonl.gz, every member's trailer checked, so a
/// cut file is an error rather than a shorter dataset). Record i is line i + 1.
/// </summary>
internal sealed class JsonLinesFormat(string textField) : IRecordFormat
{
    public IEnumerable<string?> Read(string file, long fromRecord, Utf8Decoding utf8)
    {
        using var stream = Open(file);
        using var reader = utf8.Reader(stream);
        long lineNo = 0;
        while (true)
        {
            string? line;
            try { line = reader.ReadLine(); }
            catch (InvalidDataException e) { throw new InvalidDataException($"{e.Message} (after line {lineNo})"); }
            if (line == null) yield break;
            if (lineNo++ < fromRecord) continue;
            yield return Text(file, lineNo, line);
        }
    }

    private static Stream Open(string file)
    {
        return file.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new VerifiedGzipStream(file) : File.OpenRead(file);
    }

    /// <summary>The text field of one line; null (skip) when absent or not a string; blank lines count as records without text.</summary>
    private string? Text(string file, long lineNo, string line)
    {
        if (string.IsNullOrWhiteSpace(line)) return null;
        try
        {
            using var doc = JsonDocument.Parse(line);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"{file}:{lineNo}: expected a JSON object per line, got {doc.RootElement.ValueKind}");
            return doc.RootElement.TryGetProperty(textField, out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{file}:{lineNo}: malformed JSON ({e.Message.Split('.')[0]})");
        }
    }
}
