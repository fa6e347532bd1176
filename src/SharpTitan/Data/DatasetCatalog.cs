namespace SharpTitan.Data;

/// <summary>Turns `training.dataset` / `training.dataset_path` into a repeatable stream of documents.</summary>
public static class DatasetCatalog
{
    public const string Sample = "sample";

    /// <summary>A function that starts the document stream from the beginning each time it is called.</summary>
    public static Func<IEnumerable<string>> Resolve(string dataset, string? datasetPath, string keyPrefix = "training")
    {
        if (datasetPath == null && dataset == Sample) return SampleCorpus.Documents;
        string path = datasetPath ?? dataset;
        if (!File.Exists(path) && !Directory.Exists(path))
            throw new FileNotFoundException(datasetPath != null
                ? $"{keyPrefix}.dataset_path: not found: {datasetPath}"
                : $"{keyPrefix}.dataset = \"{dataset}\": not a known dataset (this build knows \"{Sample}\", the embedded corpus) nor an existing path; set {keyPrefix}.dataset_path to a .txt file or a folder of them");
        var files = TextDocuments.Files(path);
        return () => TextDocuments.Read(files, splitOnBlankLines: false);
    }
}
