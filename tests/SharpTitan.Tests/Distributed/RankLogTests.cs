using System.Text.RegularExpressions;
using SharpTitan.Cli.Commands;
using SharpTitan.Tests.Support;

namespace SharpTitan.Tests.Distributed;

/// <summary>Rank logs carry a time on every line; `launch`'s redirected output carries no terminal escape sequences.</summary>
[Collection(MpiCollection.Name)]
public class RankLogTests
{
    private static readonly Regex Stamped = new(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \S");

    [Fact]
    public void EachLineStartsWithTheTimeItBegan()
    {
        var text = new StringWriter();
        var time = new DateTime(2026, 11, 30, 1, 2, 3, 456, DateTimeKind.Utc);
        using var log = new TimestampedWriter(text, () => time);
        log.WriteLine("model: tiny");
        log.Write("step: ");
        time = time.AddSeconds(1);
        log.Write("1  loss: 5.5\ncheckpoint: saved\n");
        log.Write('x');
        log.WriteLine();
        Assert.Equal("2026-11-30T01:02:03.456Z model: tiny\n2026-11-30T01:02:03.456Z step: 1  loss: 5.5\n" +
                     "2026-11-30T01:02:04.456Z checkpoint: saved\n2026-11-30T01:02:04.456Z x\n", text.ToString().Replace("\r\n", "\n"));
    }

    [Fact]
    public void LaunchedRanksLogWithTimesAndRedirectedOutputHasNoEscapeSequences()
    {
        var dump = TestSetup.TempDir("launch-logs");
        var run = new TinyRun { Ranks = 2, Steps = 2, GlobalBatch = 4, LogFreq = 1 };
        // As from a user's terminal: with TERM set, .NET's console on mpirun's pseudo-terminal would write escape sequences.
        var r = MpiRun.Start(MpiRun.CliPath, ["launch", "-n", "2", "--", .. run.CommandLine(dump)], TimeSpan.FromSeconds(180),
            new Dictionary<string, string> { ["TERM"] = "xterm-256color" });
        Assert.True(r.ExitCode == 0 && !r.TimedOut, r.Describe());
        Assert.DoesNotContain('\u001b', r.Output); // neither the keypad-mode sequence of mpirun's pseudo-terminal nor colours
        Assert.Contains("summary: 2 steps (1-2), 256 tokens in ", r.Stdout);
        for (int rank = 0; rank < 2; rank++)
        {
            var lines = File.ReadAllLines(Path.Combine(dump, "logs", $"rank_{rank}.log"));
            Assert.Contains(lines, l => l.Contains("step:     2"));
            Assert.Contains(lines, l => l.Contains("summary: 2 steps (1-2)"));
            Assert.All(lines, l => Assert.Matches(Stamped, l));
            Assert.DoesNotContain(lines, l => l.Contains('\u001b'));
        }
    }
}
