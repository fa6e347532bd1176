using SharpTitan.Config;

namespace SharpTitan.Parallel;

/// <summary>One unit of a schedule: the forward or the backward of one stage on one micro-batch.</summary>
public readonly record struct PipelineAction(bool Backward, int Stage, int Microbatch)
{
    public override string ToString() => $"{(Backward ? "B" : "F")}{Stage}.{Microbatch}";
}

/// <summary>
/// The order in which one pp rank runs its forwards and backwards, as PyTorch's schedules (torch.distributed.pipelining:
/// ScheduleGPipe, Schedule1F1B, ScheduleInterleaved1F1B, ScheduleLoopedBFS) without their idle slots. Two stages
/// exchange a direction's messages in one micro-batch order on both sides (LoopedBFS: backwards in reverse), so
/// messages are matched in the order sent.
/// </summary>
public static class PipelineActions
{
    /// <summary>The schedule's own limit on micro-batches (one-line ConfigException).</summary>
    public static void RequireEnoughMicrobatches(PipelineSchedule schedule, int stages, int degree, int microbatches)
    {
        string Have() => $"training.local_batch_size / parallelism.pipeline_parallel_microbatch_size gives {microbatches}";
        if (schedule == PipelineSchedule.OneFOneB && microbatches < stages)
            throw new ConfigException($"pipeline schedule 1F1B needs at least as many micro-batches as stages ({stages}); {Have()}");
        if (schedule == PipelineSchedule.Interleaved1F1B)
        {
            int rounds = Math.Max(1, microbatches / degree);
            if (microbatches % rounds != 0)
                throw new ConfigException($"pipeline schedule Interleaved1F1B needs the micro-batches in rounds of {degree} (pipeline_parallel_degree) or fewer; {Have()}");
        }
    }

    public static IReadOnlyList<PipelineAction> ForRank(PipelineSchedule schedule, int rank, int degree, int stagesPerRank, int microbatches) =>
        schedule switch
        {
            PipelineSchedule.GPipe => GPipe(rank, microbatches),
            PipelineSchedule.OneFOneB => OneFOneB(rank, degree, microbatches),
            PipelineSchedule.Interleaved1F1B => Interleaved(rank, degree, stagesPerRank, microbatches),
            PipelineSchedule.LoopedBFS => LoopedBfs(rank, degree, stagesPerRank, microbatches),
            _ => throw new ArgumentOutOfRangeException(nameof(schedule)),
        };

    private static List<PipelineAction> GPipe(int stage, int m) =>
        [.. Enumerable.Range(0, m).Select(i => new PipelineAction(false, stage, i)),
         .. Enumerable.Range(0, m).Select(i => new PipelineAction(true, stage, i))];

    /// <summary>Warm-up forwards (one more on each earlier stage), then backward and forward in turn, then the last backwards.</summary>
    private static List<PipelineAction> OneFOneB(int stage, int degree, int m)
    {
        var actions = new List<PipelineAction>();
        int f = 0, b = 0, warmup = Math.Min(m, degree - stage);
        while (f < warmup) actions.Add(new(false, stage, f++));
        while (true)
        {
            actions.Add(new(true, stage, b++));
            if (f == m) break;
            actions.Add(new(false, stage, f++));
        }
        while (b < m) actions.Add(new(true, stage, b++));
        return actions;
    }

    /// <summary>PyTorch's ScheduleLoopedBFS: each local stage's forwards in turn, then each one's backwards, stages and micro-batches reversed.</summary>
    private static List<PipelineAction> LoopedBfs(int rank, int degree, int local, int m)
    {
        var stages = Enumerable.Range(0, local).Select(i => i * degree + rank).ToList();
        var actions = stages.SelectMany(s => Enumerable.Range(0, m).Select(i => new PipelineAction(false, s, i))).ToList();
        actions.AddRange(Enumerable.Reverse(stages).SelectMany(s => Enumerable.Range(0, m).Reverse().Select(i => new PipelineAction(true, s, i))));
        return actions;
    }

    /// <summary>PyTorch's ScheduleInterleaved1F1B (_get_1f1b_rank_ops without its no-op padding); stage = local index x degree + rank.</summary>
    private static List<PipelineAction> Interleaved(int rank, int degree, int local, int m)
    {
        int rounds = Math.Max(1, m / degree), perRound = m / rounds;
        int total = local * m;
        int warmup = Math.Min((local - 1) * perRound + 2 * (degree - 1 - rank), total);
        int ForwardStage(int op) => op / perRound % local * degree + rank;
        int BackwardStage(int op) => (local - 1 - (op - warmup) / perRound % local) * degree + rank;
        var fwd = new Dictionary<int, int>();
        var bwd = new Dictionary<int, int>();
        PipelineAction Next(bool backward, int stage)
        {
            var counters = backward ? bwd : fwd;
            int mb = counters.GetValueOrDefault(stage);
            counters[stage] = mb + 1;
            return new PipelineAction(backward, stage, mb);
        }
        var actions = new List<PipelineAction>();
        int fwdBwd = total - warmup;
        for (int op = 0; op < warmup + fwdBwd + warmup; op++)
        {
            if (op < warmup) actions.Add(Next(false, ForwardStage(op)));
            else if (op < warmup + fwdBwd)
            {
                actions.Add(Next(false, ForwardStage(op)));
                actions.Add(Next(true, BackwardStage(op)));
            }
            else actions.Add(Next(true, BackwardStage(op)));
        }
        return actions;
    }
}
