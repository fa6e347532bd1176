namespace SharpTitan.Config;

/// <summary>
/// The project's own files (configs/, assets/tokenizer/) wherever a program is run from: a relative path that names
/// nothing under the working folder is looked for beside the program, where the CLI's build, publish and .NET tool
/// carry those folders. Paths that exist as given, absolute paths and names (cl100k_base) are returned unchanged.
/// </summary>
public static class ProjectAssets
{
    public static string Resolve(string path)
    {
        if (Path.IsPathRooted(path) || File.Exists(path) || Directory.Exists(path)) return path;
        var beside = Path.Combine(AppContext.BaseDirectory, path);
        return File.Exists(beside) || Directory.Exists(beside) ? beside : path;
    }
}
