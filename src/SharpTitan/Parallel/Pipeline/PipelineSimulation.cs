namespace SharpTitan.Parallel;

/// <summary>
/// Runs every pp rank's action order on paper, as the runner does (each rank in its order; an action waits for its
/// input only: F for the previous stage's F, B or I for the next stage's B or I, or the loss; W for its own I) with
/// unit costs F = I = W = 1, B = 2 (a backward costs two forwards, split evenly) and free transfers. Gives each
/// rank's idle share of its step (the schedule's bubble in theory), finds deadlocks, and gives the times that order
/// the ranks' transfers (<see cref="PipelineTransfers"/>).
/// </summary>
public static class PipelineSimulation
{
    private static double Cost(PipelineOp op) => op == PipelineOp.Backward ? 2 : 1;

    /// <summary>Each rank's idle share of the time from the step's start to its last action's end.</summary>
    /// <exception cref="InvalidOperationException">The orders deadlock (the message names each rank's stuck action).</exception>
    public static double[] IdleShares(IReadOnlyList<IReadOnlyList<PipelineAction>> ranks, int stages)
    {
        var times = Timeline(ranks, stages);
        return [.. Enumerable.Range(0, ranks.Count).Select(r =>
        {
            double end = times[r].Length == 0 ? 0 : times[r][^1].End;
            return end <= 0 ? 0 : 1 - ranks[r].Sum(a => Cost(a.Op)) / end;
        })];
    }

    /// <summary>Each rank's actions' (start, end) times on paper, in the ranks' orders.</summary>
    /// <exception cref="InvalidOperationException">The orders deadlock (the message names each rank's stuck action).</exception>
    public static (double Start, double End)[][] Timeline(IReadOnlyList<IReadOnlyList<PipelineAction>> ranks, int stages)
    {
        int p = ranks.Count;
        var finished = new Dictionary<(int Kind, int Stage, int Mb), double>(); // kind 0 = F, 1 = B or I, 2 = W
        var times = ranks.Select(r => new (double, double)[r.Count]).ToArray();
        var next = new int[p];
        var clock = new double[p];
        static int Kind(PipelineOp op) => op == PipelineOp.Forward ? 0 : op == PipelineOp.BackwardWeight ? 2 : 1;
        (int, int, int)? Dependency(PipelineAction a) => a.Op switch
        {
            PipelineOp.Forward => a.Stage == 0 ? null : (0, a.Stage - 1, a.Microbatch),
            PipelineOp.BackwardWeight => (1, a.Stage, a.Microbatch),
            _ => a.Stage == stages - 1 ? (0, a.Stage, a.Microbatch) : (1, a.Stage + 1, a.Microbatch),
        };
        for (bool moved = true; moved;)
        {
            moved = false;
            for (int r = 0; r < p; r++)
                while (next[r] < ranks[r].Count)
                {
                    var a = ranks[r][next[r]];
                    double ready = 0;
                    if (Dependency(a) is { } d)
                    {
                        if (!finished.TryGetValue(d, out ready)) break;
                    }
                    double start = Math.Max(clock[r], ready);
                    clock[r] = start + Cost(a.Op);
                    times[r][next[r]] = (start, clock[r]);
                    finished[(Kind(a.Op), a.Stage, a.Microbatch)] = clock[r];
                    next[r]++;
                    moved = true;
                }
        }
        if (Enumerable.Range(0, p).Any(r => next[r] < ranks[r].Count))
            throw new InvalidOperationException("pipeline schedule deadlocks at " +
                string.Join(", ", Enumerable.Range(0, p).Select(r => next[r] < ranks[r].Count ? $"rank {r} {ranks[r][next[r]]}" : $"rank {r} done")));
        return times;
    }

    /// <summary>The plan's bubble in theory on every rank.</summary>
    public static double[] IdleShares(PipelinePlan plan) =>
        IdleShares([.. Enumerable.Range(0, plan.Degree).Select(r => PipelineActions.ForRank(plan.Schedule, r, plan.Degree, plan.StagesPerRank, plan.Microbatches))],
            plan.Stages.Count);
}
