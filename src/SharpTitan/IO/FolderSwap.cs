namespace SharpTitan.IO;

/// <summary>
/// Puts a finished folder in place of another in two renames: an existing folder is first renamed aside and deleted
/// only once the new one is in place, so a reader sees the old contents or the new, never a mix or nothing.
/// </summary>
internal static class FolderSwap
{
    /// <param name="finished">The folder written completely (a temporary beside <paramref name="destination"/>).</param>
    /// <param name="destination">Where it goes.</param>
    /// <param name="aside">Where an existing <paramref name="destination"/> waits until the new one is in place.</param>
    /// <param name="afterMove">Runs between the rename and the deletion (e.g. an fsync of the parent folder).</param>
    public static void Replace(string finished, string destination, string aside, Action? afterMove = null)
    {
        if (Directory.Exists(aside)) Directory.Delete(aside, recursive: true);
        if (Directory.Exists(destination)) Directory.Move(destination, aside);
        Directory.Move(finished, destination);
        afterMove?.Invoke();
        if (Directory.Exists(aside)) Directory.Delete(aside, recursive: true);
    }
}
