using System.Text.RegularExpressions;

namespace SharpTitan.Cli.Commands;

/// <summary>
/// Passes mpirun's stderr through line by line, but holds back OpenMPI's framed notices (a block between two rules
/// of 74 dashes: "mpirun detected that one or more processes exited with non-zero status", "MPI_ABORT was invoked")
/// until the job ends, its runtime's log lines ("[host:pid] [[job,vpid],rank] ORTE_ERROR_LOG: ...", which a job
/// aborted while mpirun tears down can print) and its "Forwarding signal" lines. <see cref="Finish"/> prints the notices unless the ranks
/// have already said why the job ended (an input error, a requested stop), so such an ending is one line.
/// </summary>
public sealed partial class MpirunNotices(TextWriter output)
{
    [GeneratedRegex(@"^\[[^\]]+\] \[\[\d+,\d+\],\d+\] ")]
    private static partial Regex RuntimeLog();

    private static readonly string Rule = new('-', 74);
    private readonly List<string> _held = [];
    private List<string>? _block;

    public void Line(string line)
    {
        lock (_held)
        {
            if (line == Rule)
            {
                if (_block == null) _block = [line];
                else
                {
                    _block.Add(line);
                    _held.AddRange(_block);
                    _block = null;
                }
            }
            else if (_block != null) _block.Add(line);
            else if (RuntimeLog().IsMatch(line)) _held.Add(line);
            else if (!line.StartsWith("mpirun: Forwarding signal", StringComparison.Ordinal)) output.WriteLine(line);
        }
    }

    /// <summary>At the end of the job: prints the held notices (and an unfinished block) unless <paramref name="explained"/>.</summary>
    public void Finish(bool explained)
    {
        lock (_held)
        {
            if (_block != null) _held.AddRange(_block);
            _block = null;
            if (!explained) foreach (var l in _held) output.WriteLine(l);
            _held.Clear();
            output.Flush();
        }
    }
}
