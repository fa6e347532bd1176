using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using ScottPlot;

namespace SharpTitan.Metrics;

/// <summary>What a box of the timeline is: a stage's forward, backward, or half of a split backward (input / weight gradients); its initial labels the box.</summary>
public enum TimelineOp { Forward, Backward, Input, Weight }

/// <summary>
/// A pipeline run's schedule as a picture: the "forward stage S mb M" / "backward stage S mb M" spans (and the
/// split backward's "input stage S mb M" / "weight stage S mb M") of every rank's Chrome trace (one profiling
/// iteration folder, rank*_trace.json), lined up on the wall clock; ranks as rows, micro-batches as coloured boxes
/// (forward pale, backward and input-gradient full, weight-gradient boxes in their own grey), the gaps the bubble.
/// </summary>
public sealed partial class PipelineTimeline
{
    public sealed record Box(int Rank, TimelineOp Op, int Stage, int Microbatch, double StartMs, double EndMs)
    {
        public bool Backward => Op != TimelineOp.Forward;
    }

    private static readonly Dictionary<string, TimelineOp> Ops = new()
    {
        ["forward"] = TimelineOp.Forward, ["backward"] = TimelineOp.Backward,
        ["input"] = TimelineOp.Input, ["weight"] = TimelineOp.Weight,
    };

    public IReadOnlyList<Box> Boxes { get; }
    public int Ranks { get; }

    private PipelineTimeline(IReadOnlyList<Box> boxes)
    {
        Boxes = boxes;
        Ranks = boxes.Count == 0 ? 0 : boxes.Max(b => b.Rank) + 1;
    }

    [GeneratedRegex(@"^(forward|backward|input|weight) stage (\d+) mb (\d+)$")]
    private static partial Regex SpanName();

    /// <summary>Reads every rank*_trace.json of <paramref name="folder"/>; times in ms from the earliest box.</summary>
    public static PipelineTimeline Load(string folder)
    {
        var files = Directory.GetFiles(folder, "rank*_trace.json");
        if (files.Length == 0) throw new FileNotFoundException($"no rank*_trace.json in {folder} (run with --profiling.enable_profiling)");
        var boxes = new List<Box>();
        foreach (var file in files)
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(file));
            double origin = doc.RootElement.TryGetProperty("otherData", out var other) && other.TryGetProperty("clock_origin_unix_us", out var o)
                ? o.GetDouble() : 0;
            foreach (var e in doc.RootElement.GetProperty("traceEvents").EnumerateArray())
            {
                if (!e.TryGetProperty("dur", out var dur)) continue;
                var m = SpanName().Match(e.GetProperty("name").GetString() ?? "");
                if (!m.Success) continue;
                double start = (origin + e.GetProperty("ts").GetDouble()) / 1000;
                boxes.Add(new Box(e.GetProperty("pid").GetInt32(), Ops[m.Groups[1].Value],
                    int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture), int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture),
                    start, start + dur.GetDouble() / 1000));
            }
        }
        if (boxes.Count == 0) throw new InvalidDataException($"the traces in {folder} have no pipeline spans (a run with parallelism.pipeline_parallel_degree > 1)");
        double t0 = boxes.Min(b => b.StartMs);
        return new PipelineTimeline(boxes.Select(b => b with { StartMs = b.StartMs - t0, EndMs = b.EndMs - t0 }).ToList());
    }

    /// <summary>Per rank: the share of the time from its first box's start to its last box's end spent in no box.</summary>
    public IReadOnlyList<double> IdleShares() => Enumerable.Range(0, Ranks).Select(r =>
    {
        var mine = Boxes.Where(b => b.Rank == r).ToList();
        if (mine.Count == 0) return 0.0;
        double span = mine.Max(b => b.EndMs) - mine.Min(b => b.StartMs);
        return span <= 0 ? 0 : 1 - mine.Sum(b => b.EndMs - b.StartMs) / span;
    }).ToList();

    public void Save(string pngPath, int width = 1400, int heightPerRank = 90)
    {
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        bool looped = Boxes.GroupBy(b => b.Rank).Any(g => g.Select(b => b.Stage).Distinct().Count() > 1);
        foreach (var b in Boxes)
        {
            double top = Ranks - b.Rank, bottom = top - 0.8;
            var color = palette.GetColor(b.Microbatch % 10);
            var rect = plot.Add.Rectangle(b.StartMs, b.EndMs, bottom, top);
            rect.FillStyle.Color = b.Op == TimelineOp.Weight ? Colors.SlateGray.WithAlpha(0.55)
                : b.Backward ? color : color.WithAlpha(0.45);
            rect.LineStyle.Color = Colors.Black.WithAlpha(0.6);
            var label = $"{b.Op.ToString()[0]}{b.Microbatch}" + (looped ? $"\ns{b.Stage}" : "");
            var text = plot.Add.Text(label, (b.StartMs + b.EndMs) / 2, bottom + 0.4);
            text.LabelAlignment = Alignment.MiddleCenter;
            text.LabelFontSize = 10;
        }
        var idle = IdleShares();
        plot.Axes.Left.SetTicks(Enumerable.Range(0, Ranks).Select(r => Ranks - r - 0.4).ToArray(),
            Enumerable.Range(0, Ranks).Select(r => $"rank {r} ({100 * idle[r]:F0}% idle)").ToArray());
        bool split = Boxes.Any(b => b.Op == TimelineOp.Weight);
        plot.Title("Pipeline schedule (F = forward, B = backward" + (split ? ", I = input gradient, W = weight gradient (grey)" : "") +
                   "; colour = micro-batch" + (looped ? ", s = stage)" : ")"));
        plot.XLabel("time (ms)");
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(pngPath))!);
        plot.SavePng(pngPath, width, 120 + heightPerRank * Math.Max(1, Ranks));
    }
}
