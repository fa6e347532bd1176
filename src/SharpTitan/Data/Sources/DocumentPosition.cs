namespace SharpTitan.Data;

/// <summary>Where a document sits: file index in the dataset's sorted file list, record index within the file.</summary>
public readonly record struct DocumentPosition(int File, long Record);
