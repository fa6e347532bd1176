using SharpTitan.IO;

namespace SharpTitan.Checkpoint.HuggingFace;

/// <summary>
/// Writes a folder whole or not at all: the new contents go to a temporary folder beside it, which is then renamed
/// into place (an existing folder is first renamed aside, then deleted). A reader never sees two writes mixed; a
/// failed write leaves the old folder as it was.
/// </summary>
internal static class FolderReplacement
{
    /// <summary>True when <paramref name="folder"/> exists and holds anything.</summary>
    public static bool HoldsFiles(string folder) => Directory.Exists(folder) && Directory.EnumerateFileSystemEntries(folder).Any();

    /// <param name="folder">The folder to write.</param>
    /// <param name="overwrite">Replace a folder that holds files; false: such a folder is an error.</param>
    /// <param name="write">Writes the contents into the folder it is given.</param>
    public static T Write<T>(string folder, bool overwrite, Func<string, T> write)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder));
        if (File.Exists(full)) throw new IOException($"{folder} is a file, not a folder");
        if (!overwrite && HoldsFiles(full)) throw new IOException($"{folder} is not empty (replacing its contents needs overwrite)");
        var parent = Path.GetDirectoryName(full) ?? throw new IOException($"{folder}: cannot write the root folder");
        Directory.CreateDirectory(parent);
        string name = Path.GetFileName(full), id = $"{Environment.ProcessId}";
        string temp = Path.Combine(parent, $".{name}.tmp-{id}"), aside = Path.Combine(parent, $".{name}.old-{id}");
        if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        T result;
        try { result = write(temp); }
        catch
        {
            if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
            throw;
        }
        FolderSwap.Replace(temp, full, aside);
        return result;
    }
}
