using Parquet;

namespace SharpTitan.Data;

/// <summary>
/// Parquet files with a string column holding the text (default "text"). Record i is row i. Parquet.Net decodes the
/// strings itself, so invalid UTF-8 there is not counted.
/// </summary>
internal sealed class ParquetFormat(string textColumn) : IRecordFormat
{
    public IEnumerable<string?> Read(string file, long fromRecord, Utf8Decoding utf8)
    {
        var reader = Open(file);
        try
        {
            var field = reader.Schema.GetDataFields().FirstOrDefault(f => f.Name == textColumn)
                    ?? throw new InvalidDataException($"{file}: no column \"{textColumn}\" (columns: {string.Join(", ", reader.Schema.GetDataFields().Select(f => f.Name))})");
        long row = 0;
        for (int g = 0; g < reader.RowGroupCount; g++)
        {
            using var group = reader.OpenRowGroupReader(g);
            long count = group.RowCount;
            if (row + count <= fromRecord) { row += count; continue; }
            var values = new string?[count];
            group.ReadAsync(field, values.AsMemory(), null).AsTask().GetAwaiter().GetResult();
            for (long i = 0; i < count; i++, row++)
                if (row >= fromRecord) yield return values[i];
        }
        }
        finally { reader.DisposeAsync().AsTask().GetAwaiter().GetResult(); }
    }

    private static ParquetReader Open(string file)
    {
        try { return ParquetReader.CreateAsync(file).GetAwaiter().GetResult(); }
        catch (Exception e) when (e is IOException or InvalidOperationException or NotSupportedException)
        {
            throw new InvalidDataException($"{file}: not a readable parquet file ({e.Message})");
        }
    }
}
