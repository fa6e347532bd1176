namespace SharpTitan.Data;

/// <summary>
/// Turns `dataset` / `dataset_path` into a document source. Names: "sample" (the embedded corpus); "c4" (allenai/c4
/// "en" train: shards fetched with `sharptitan download c4`, default ./data/c4); "c4_validation" and "c4_test" (local
/// C4 samples, default ../shared/datasets/...); anything else is a path. dataset_path, when set, overrides the
/// default location: a .jsonl/.json/.json.gz/.jsonl.gz/.parquet/.txt file, a directory, or a glob.
/// </summary>
public static class DatasetCatalog
{
    public const string Sample = "sample";

    public static IReadOnlyDictionary<string, string> DefaultPaths { get; } = new Dictionary<string, string>
    {
        ["c4"] = "./data/c4",
        ["c4_test"] = "../shared/datasets/c4_sample/c4_sample.jsonl",
        ["c4_validation"] = "../shared/datasets/c4_validation/c4_validation.jsonl",
    };

    public static DocumentSource Resolve(string dataset, string? datasetPath, string keyPrefix = "training", TextOptions? options = null)
    {
        options ??= new TextOptions();
        if (datasetPath == null && dataset == Sample) return SampleCorpus.Source();
        string path, key;
        if (datasetPath != null) (path, key) = (datasetPath, $"{keyPrefix}.dataset_path");
        else if (DefaultPaths.TryGetValue(dataset, out var known)) (path, key) = (known, $"{keyPrefix}.dataset = \"{dataset}\" (default location; set {keyPrefix}.dataset_path)");
        else (path, key) = (dataset, $"{keyPrefix}.dataset = \"{dataset}\" (not a known name: {Sample}, {string.Join(", ", DefaultPaths.Keys)}; nor a path)");
        if (dataset == "c4" && datasetPath == null && !Directory.Exists(path))
            throw new FileNotFoundException($"{key}: {path} not found; fetch shards with `sharptitan download c4 --split train --shards 0-3 --to {path}`");
        var files = DatasetFiles.Expand(path, key);
        var jsonl = new JsonLinesFormat(options.TextField);
        var parquet = new ParquetFormat(options.TextField);
        var text = new PlainTextFormat(options.SplitTxtOnBlankLines);
        return new DocumentSource(path, files, f =>
            f.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase) ? parquet
            : f.EndsWith(".txt", StringComparison.OrdinalIgnoreCase) ? text : jsonl);
    }
}
