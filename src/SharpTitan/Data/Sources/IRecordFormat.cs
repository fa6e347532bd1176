namespace SharpTitan.Data;

/// <summary>
/// One file format: reads a file's records in order, from a record index on. A record is a document's text, or
/// null when the record has no text (a JSON line without the text field, a null parquet value): skipped and counted.
/// </summary>
internal interface IRecordFormat
{
    IEnumerable<string?> Read(string file, long fromRecord);
}
