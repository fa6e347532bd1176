namespace SharpTitan.IO;

/// <summary>
/// A file-system operation failed: disk full, a read-only or forbidden folder, a file where a folder is expected.
/// The message is one line naming the path and the cause; the command line prints it and exits with
/// <see cref="ExitCode"/>.
/// </summary>
public sealed class StorageException : IOException
{
    /// <summary>Exit code of a job ended by a file-system error (sysexits' EX_IOERR).</summary>
    public const int ExitCode = 74;

    /// <summary>The file or folder the operation was on.</summary>
    public string Path { get; }

    public StorageException(string message, string path, Exception? inner = null) : base(message, inner) => Path = path;

    /// <summary>"{what} {path}: {cause}" for <paramref name="e"/>, a file-system error.</summary>
    public static StorageException For(string what, string path, Exception e) => new($"{what} {path}: {Cause(e, path)}", path, e);

    /// <summary>Errors of the file system (not a missing input, which the caller reports as such).</summary>
    public static bool IsFileSystemError(Exception e) =>
        e is UnauthorizedAccessException || (e is IOException && e is not (StorageException or FileNotFoundException or EndOfStreamException));

    /// <summary>The cause in a few words: the errno's meaning where .NET carries it (HResult), else the message.</summary>
    public static string Cause(Exception e, string path) => e switch
    {
        UnauthorizedAccessException => "permission denied",
        IOException { HResult: 28 } => "no space left on device",
        IOException { HResult: 122 } => "disk quota exceeded",
        IOException { HResult: 30 } => "read-only file system",
        IOException { HResult: 20 } => "a part of the path is a file, not a folder",
        IOException { HResult: 21 } => "it is a folder, not a file",
        IOException { HResult: 5 } => "input/output error",
        DirectoryNotFoundException => "a folder on the path does not exist",
        IOException when File.Exists(path) => "a file of that name is in the way",
        _ => e.Message.ReplaceLineEndings(" "),
    };
}
