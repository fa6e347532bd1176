namespace SharpTitan.Data;

/// <summary>Plain text: the whole file is one document (record 0), or each blank-line separated block is one.</summary>
internal sealed class PlainTextFormat(bool splitOnBlankLines) : IRecordFormat
{
    public IEnumerable<string?> Read(string file, long fromRecord, Utf8Decoding utf8)
    {
        string text;
        using (var reader = utf8.Reader(File.OpenRead(file))) text = reader.ReadToEnd();
        if (!splitOnBlankLines)
        {
            if (fromRecord == 0) yield return text.Length > 0 ? text : null;
            yield break;
        }
        long record = 0;
        foreach (var block in text.Replace("\r\n", "\n").Split("\n\n"))
        {
            if (block.Trim().Length == 0) continue;
            if (record++ >= fromRecord) yield return block.Trim('\n');
        }
    }
}
