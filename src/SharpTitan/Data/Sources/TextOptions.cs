namespace SharpTitan.Data;

/// <summary>How to read raw text files: the JSON/parquet text field and how .txt files split into documents.</summary>
public sealed record TextOptions(string TextField = "text", bool SplitTxtOnBlankLines = false);
