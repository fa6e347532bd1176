using SharpTitan.Metrics;
using SharpTitan.Tests.Support;

namespace SharpTitan.Tests.Metrics;

/// <summary>The pipeline timeline reads every rank's trace, lines the ranks up on the wall clock and draws a PNG.</summary>
public class PipelineTimelineTests
{
    private static void WriteTrace(string folder, int rank, double originUs, params (string Name, double Ts, double Dur)[] spans)
    {
        var events = string.Join(",", spans.Select(s => $"{{\"name\":\"{s.Name}\",\"cat\":\"step\",\"ph\":\"X\",\"ts\":{s.Ts},\"dur\":{s.Dur},\"pid\":{rank},\"tid\":1}}"));
        File.WriteAllText(Path.Combine(folder, $"rank{rank}_trace.json"),
            $"{{\"displayTimeUnit\":\"ms\",\"otherData\":{{\"clock_origin_unix_us\":{originUs}}},\"traceEvents\":[" +
            $"{{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":{rank},\"args\":{{\"name\":\"rank {rank}\"}}}}," + events + "]}");
    }

    [Fact]
    public void RanksAreAlignedOnTheWallClockAndIdleTimeIsTheGaps()
    {
        var dir = TestSetup.TempDir("pp-timeline");
        // Rank 1's process started 5 ms later: its clock reads 5 ms less for the same instant.
        WriteTrace(dir, 0, 1_000_000, ("forward stage 0 mb 0", 10_000, 2_000), ("backward stage 0 mb 0", 18_000, 4_000), ("optimizer", 30_000, 1_000));
        WriteTrace(dir, 1, 1_005_000, ("forward stage 1 mb 0", 7_000, 3_000), ("backward stage 1 mb 0", 10_000, 3_000));
        var t = PipelineTimeline.Load(dir);
        Assert.Equal(2, t.Ranks);
        Assert.Equal(4, t.Boxes.Count);
        var f1 = t.Boxes.Single(b => b.Rank == 1 && !b.Backward);
        Assert.Equal(2.0, f1.StartMs, 6); // 1_005_000 + 7_000 - (1_000_000 + 10_000) us
        Assert.Equal(1, f1.Stage);
        // Rank 0: 6 ms of boxes over 12 ms; rank 1: no gap.
        Assert.Equal([0.5, 0.0], t.IdleShares().Select(x => Math.Round(x, 6)));
        var png = Path.Combine(dir, "timeline.png");
        t.Save(png);
        Assert.True(new FileInfo(png).Length > 1000);
    }

    [Fact]
    public void SplitBackwardSpansAreInputAndWeightBoxes()
    {
        var dir = TestSetup.TempDir("pp-timeline-zb");
        WriteTrace(dir, 0, 0, ("forward stage 0 mb 0", 0, 1_000), ("forward stage 3 mb 0", 3_000, 1_000),
            ("input stage 3 mb 0", 4_000, 1_000), ("weight stage 3 mb 0", 5_000, 1_000), ("backward stage 0 mb 0", 8_000, 2_000));
        WriteTrace(dir, 1, 0, ("forward stage 1 mb 0", 1_000, 1_000), ("forward stage 2 mb 0", 2_000, 1_000),
            ("input stage 2 mb 0", 5_000, 1_000), ("input stage 1 mb 0", 6_000, 1_000), ("weight stage 2 mb 0", 7_000, 1_000), ("weight stage 1 mb 0", 8_000, 1_000));
        var t = PipelineTimeline.Load(dir);
        Assert.Equal(11, t.Boxes.Count);
        Assert.Equal(6, t.Boxes.Count(b => b.Op == TimelineOp.Weight || b.Op == TimelineOp.Input));
        Assert.Equal(3, t.Boxes.Single(b => b.Rank == 0 && b.Op == TimelineOp.Weight).Stage);
        Assert.Equal([0.4, 0.25], t.IdleShares().Select(x => Math.Round(x, 6)));
        var png = Path.Combine(dir, "timeline.png");
        t.Save(png);
        Assert.True(new FileInfo(png).Length > 1000);
    }

    [Fact]
    public void TracesWithoutPipelineSpansAreAnError()
    {
        var dir = TestSetup.TempDir("pp-timeline-none");
        WriteTrace(dir, 0, 0, ("forward", 0, 1_000));
        Assert.Contains("no pipeline spans", Assert.Throws<InvalidDataException>(() => PipelineTimeline.Load(dir)).Message);
    }
}
