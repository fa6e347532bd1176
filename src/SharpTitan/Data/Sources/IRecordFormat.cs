namespace SharpTitan.Data;

/// <summary>
/// One file format: reads a file's records in order, from a record index on. A record is a document's text, or
/// null when the record has no text (a JSON line without the text field, a null parquet value): skipped and counted.
/// Text formats decode with a <c>utf8</c> decoder, which counts invalid UTF-8 for the one report per file.
/// </summary>
internal interface IRecordFormat
{
    IEnumerable<string?> Read(string file, long fromRecord, Utf8Decoding utf8);
}
