namespace SharpTitan.Parallel;

/// <summary>
/// What each pp rank sends and receives in a step, in the batches it posts them (one group call each on NCCL). NCCL
/// matches the transfers between two ranks by order alone, and a transfer blocks its stream until the peer's
/// matching one runs, so the order must be one that all ranks agree on: every transfer gets the time its sending
/// action ends in <see cref="PipelineSimulation.Timeline"/> (the same for the send and its receive), each rank posts
/// its transfers in that order, and the ones of equal time go together in one batch. Then the batches of the earliest
/// time still pending are running on every rank concerned, so they always meet (no deadlock, for any schedule whose
/// actions cannot deadlock), and a rank posts a send right after its action and a receive before the action that
/// takes it (a receive's time is at most its action's start). This is the lockstep of PyTorch's schedules (sends and
/// receives batched per time step), with the simulation's clock in place of a time-step table.
/// <c>PipelineTransferTests</c> runs every schedule's batches under NCCL's rules; MPI runs them too.
/// </summary>
internal static class PipelineTransfers
{
    /// <summary>One send or receive of an action's activation or gradient; <see cref="Tag"/> names what travels.</summary>
    internal readonly record struct Transfer(bool IsSend, int Peer, int Tag, PipelineAction Action);

    /// <summary>Transfers started together, before this rank's action <see cref="PostBefore"/> (= actions: after the last).</summary>
    internal sealed record Batch(int PostBefore, double Time, List<Transfer> Transfers);

    public static int ActivationTag(int fromStage) => 2 * fromStage;
    public static int GradientTag(int fromStage) => 2 * fromStage + 1;

    /// <summary>Every rank's batches, in the order each posts them.</summary>
    public static List<Batch>[] ForPlan(PipelinePlan plan)
    {
        var ranks = Enumerable.Range(0, plan.Degree)
            .Select(r => (IReadOnlyList<PipelineAction>)PipelineActions.ForRank(plan.Schedule, r, plan.Degree, plan.StagesPerRank, plan.Microbatches)).ToList();
        var times = PipelineSimulation.Timeline(ranks, plan.Stages.Count);
        var ends = new Dictionary<PipelineAction, double>();
        for (int r = 0; r < ranks.Count; r++)
            for (int k = 0; k < ranks[r].Count; k++) ends[ranks[r][k]] = times[r][k].End;

        var result = new List<Batch>[ranks.Count];
        for (int r = 0; r < ranks.Count; r++)
        {
            var timed = new List<(double Time, Transfer T)>();
            foreach (var a in ranks[r])
            {
                if (SendOf(plan, a, r) is { } send) timed.Add((ends[a], send));
                if (ReceiveOf(plan, a, r) is { } receive) timed.Add((SenderEnd(ends, a), receive));
            }
            result[r] = [.. timed.OrderBy(x => x.Time).GroupBy(x => x.Time).Select(g =>
                new Batch(PostBefore(times[r], g.Key), g.Key, [.. g.Select(x => x.T)]))];
        }
        return result;
    }

    /// <summary>The first action starting at or after <paramref name="time"/> (a send's batch goes right after its action).</summary>
    private static int PostBefore((double Start, double End)[] times, double time)
    {
        int k = 0;
        while (k < times.Length && times[k].Start < time) k++;
        return k;
    }

    /// <summary>When the action whose output <paramref name="a"/> receives ends: the previous stage's F, or the next stage's B or I.</summary>
    private static double SenderEnd(Dictionary<PipelineAction, double> ends, PipelineAction a) => a.Op == PipelineOp.Forward
        ? ends[PipelineAction.F(a.Stage - 1, a.Microbatch)]
        : ends.TryGetValue(PipelineAction.B(a.Stage + 1, a.Microbatch), out var end) ? end : ends[PipelineAction.I(a.Stage + 1, a.Microbatch)];

    /// <summary>The input <paramref name="a"/> takes from another rank, if any: the previous stage's activation, or the next stage's gradient.</summary>
    public static Transfer? ReceiveOf(PipelinePlan plan, PipelineAction a, int rank)
    {
        int from;
        if (a.Op == PipelineOp.Forward && a.Stage > 0) from = a.Stage - 1;
        else if (a.TakesGradient && a.Stage < plan.Stages.Count - 1) from = a.Stage + 1;
        else return null;
        int peer = plan.RankOf(from);
        return peer == rank ? null : new Transfer(false, peer, a.TakesGradient ? GradientTag(from) : ActivationTag(from), a);
    }

    /// <summary>The output <paramref name="a"/> gives another rank, if any: its activation to the next stage, or its input's gradient to the previous one.</summary>
    public static Transfer? SendOf(PipelinePlan plan, PipelineAction a, int rank)
    {
        int to;
        if (a.Op == PipelineOp.Forward && a.Stage < plan.Stages.Count - 1) to = a.Stage + 1;
        else if (a.TakesGradient && a.Stage > 0) to = a.Stage - 1;
        else return null;
        int peer = plan.RankOf(to);
        return peer == rank ? null : new Transfer(true, peer, a.TakesGradient ? GradientTag(a.Stage) : ActivationTag(a.Stage), a);
    }
}
