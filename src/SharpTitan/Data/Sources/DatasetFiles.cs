using System.Text.RegularExpressions;

namespace SharpTitan.Data;

/// <summary>
/// Expands a dataset path into its files, sorted ordinally: a file; a directory (its supported files, recursively);
/// or a glob (<c>*</c> and <c>?</c> within a name, <c>**</c> across folders), e.g. <c>data/c4/c4-train.*.json.gz</c>.
/// </summary>
internal static class DatasetFiles
{
    public static readonly string[] Extensions = [".jsonl", ".json", ".jsonl.gz", ".json.gz", ".parquet", ".txt"];

    public static bool IsSupported(string file) => Extensions.Any(e => file.EndsWith(e, StringComparison.OrdinalIgnoreCase));

    public static IReadOnlyList<string> Expand(string path, string key)
    {
        if (File.Exists(path))
        {
            if (!IsSupported(path)) throw new InvalidDataException($"{key}: {path}: unsupported file type (expected {string.Join(", ", Extensions)})");
            return [path];
        }
        List<string> files;
        if (Directory.Exists(path))
            files = Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories).Where(IsSupported).ToList();
        else if (path.IndexOfAny(['*', '?']) >= 0)
            files = Glob(path).ToList();
        else
            throw new FileNotFoundException($"{key}: not found: {path}");
        if (files.Count == 0)
            throw new InvalidDataException($"{key}: {path} matches no dataset files ({string.Join(", ", Extensions)})");
        files.Sort(StringComparer.Ordinal);
        return files;
    }

    private static IEnumerable<string> Glob(string pattern)
    {
        string normalized = pattern.Replace('\\', '/');
        int firstWild = normalized.IndexOfAny(['*', '?']);
        int slash = normalized.LastIndexOf('/', firstWild);
        string root = slash < 0 ? "." : normalized[..slash];
        if (root.Length == 0) root = "/";
        if (!Directory.Exists(root)) throw new FileNotFoundException($"glob {pattern}: folder not found: {root}");
        string rest = slash < 0 ? normalized : normalized[(slash + 1)..];
        var regex = new Regex("^" + Regex.Escape(rest).Replace(@"\*\*/", "(.*/)?").Replace(@"\*\*", ".*")
            .Replace(@"\*", "[^/]*").Replace(@"\?", "[^/]") + "$");
        return Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .Where(f => regex.IsMatch(Path.GetRelativePath(root, f).Replace('\\', '/')) && IsSupported(f));
    }
}
