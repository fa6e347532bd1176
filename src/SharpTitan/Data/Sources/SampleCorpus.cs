using System.Reflection;

namespace SharpTitan.Data;

/// <summary>The project's own sample corpus (assets/corpus), embedded in the library: one document per file.</summary>
internal static class SampleCorpus
{
    private const string Prefix = "corpus/";

    public static IReadOnlyList<string> Names { get; } = typeof(SampleCorpus).Assembly.GetManifestResourceNames()
        .Where(n => n.StartsWith(Prefix) && n.EndsWith(".txt")).OrderBy(n => n, StringComparer.Ordinal).ToList();

    public static DocumentSource Source()
    {
        if (Names.Count == 0) throw new InvalidDataException("the embedded sample corpus is missing from this build");
        return new DocumentSource(DatasetCatalog.Sample, Names, _ => new ResourceFormat());
    }

    public static IEnumerable<string> Documents() => Source().Documents();

    /// <summary>An embedded resource is one document.</summary>
    private sealed class ResourceFormat : IRecordFormat
    {
        public IEnumerable<string?> Read(string name, long fromRecord, Utf8Decoding utf8)
        {
            if (fromRecord > 0) yield break;
            using var reader = utf8.Reader(typeof(SampleCorpus).Assembly.GetManifestResourceStream(name)!);
            yield return reader.ReadToEnd();
        }
    }
}
