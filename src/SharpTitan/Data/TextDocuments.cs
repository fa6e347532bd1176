namespace SharpTitan.Data;

/// <summary>
/// Plain-text documents: each .txt file is one document, or (with <c>splitOnBlankLines</c>) each blank-line
/// separated block is one. A path may be a file or a directory (its .txt files, sorted by name).
/// </summary>
public static class TextDocuments
{
    public static IReadOnlyList<string> Files(string path)
    {
        if (File.Exists(path)) return [path];
        if (Directory.Exists(path))
        {
            var files = Directory.GetFiles(path, "*.txt").OrderBy(f => f, StringComparer.Ordinal).ToList();
            if (files.Count == 0) throw new InvalidDataException($"dataset folder {path} has no .txt files");
            return files;
        }
        throw new FileNotFoundException($"dataset path not found: {path}");
    }

    public static IEnumerable<string> Read(IReadOnlyList<string> files, bool splitOnBlankLines)
    {
        foreach (var file in files)
        {
            var text = File.ReadAllText(file);
            if (!splitOnBlankLines) { yield return text; continue; }
            foreach (var block in text.Replace("\r\n", "\n").Split("\n\n"))
                if (block.Trim().Length > 0) yield return block.Trim('\n');
        }
    }
}
