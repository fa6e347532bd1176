using System.Text;
using SharpTitan.Distributed;

namespace SharpTitan.Cli.Commands;

/// <summary>
/// The training log of this rank: the console on rank 0; with several ranks, also DUMP_FOLDER/logs/rank_N.log
/// on every rank (each line after its UTC time, <see cref="TimestampedWriter"/>; the file name says the rank).
/// </summary>
public sealed class RankLog : TextWriter
{
    private readonly TextWriter? _console;
    private readonly TextWriter? _file;

    private RankLog(TextWriter? console, TextWriter? file) => (_console, _file) = (console, file);

    public override Encoding Encoding => Encoding.UTF8;

    public static RankLog Open(string dumpFolder, IProcessGroup world)
    {
        TextWriter? file = null;
        if (world.Size > 1)
        {
            var dir = Path.Combine(dumpFolder, "logs");
            try
            {
                Directory.CreateDirectory(dir);
                file = new TimestampedWriter(new StreamWriter(Path.Combine(dir, $"rank_{world.Rank}.log"), append: false) { AutoFlush = true });
            }
            catch (Exception e) when (SharpTitan.IO.StorageException.IsFileSystemError(e))
            {
                throw SharpTitan.IO.StorageException.For("rank log: cannot write", dir, e);
            }
        }
        return new RankLog(world.Rank == 0 ? Console.Out : null, file);
    }

    public override void Write(char value)
    {
        _console?.Write(value);
        _file?.Write(value);
    }

    public override void Write(string? value)
    {
        _console?.Write(value);
        _file?.Write(value);
    }

    public override void WriteLine(string? value)
    {
        _console?.WriteLine(value);
        _file?.WriteLine(value);
    }

    public override void Flush()
    {
        _console?.Flush();
        _file?.Flush();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _file?.Dispose();
        base.Dispose(disposing);
    }
}
