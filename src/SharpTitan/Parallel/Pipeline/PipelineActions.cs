using SharpTitan.Config;

namespace SharpTitan.Parallel;

/// <summary>What an action computes, by PyTorch's letters: F, B (the whole backward), I (input gradient only), W (weight gradient only).</summary>
public enum PipelineOp { Forward, Backward, BackwardInput, BackwardWeight }

/// <summary>One unit of a schedule: one stage's forward, backward, or half of a split backward, on one micro-batch.</summary>
public readonly record struct PipelineAction(PipelineOp Op, int Stage, int Microbatch)
{
    /// <summary>B or I: takes the output gradient from the next stage and sends the input gradient to the previous one.</summary>
    public bool TakesGradient => Op is PipelineOp.Backward or PipelineOp.BackwardInput;

    public static PipelineAction F(int stage, int mb) => new(PipelineOp.Forward, stage, mb);
    public static PipelineAction B(int stage, int mb) => new(PipelineOp.Backward, stage, mb);
    public static PipelineAction I(int stage, int mb) => new(PipelineOp.BackwardInput, stage, mb);
    public static PipelineAction W(int stage, int mb) => new(PipelineOp.BackwardWeight, stage, mb);

    public override string ToString() => $"{Letter(Op)}{Stage}.{Microbatch}";

    public static string Letter(PipelineOp op) => op switch
    {
        PipelineOp.Forward => "F",
        PipelineOp.Backward => "B",
        PipelineOp.BackwardInput => "I",
        _ => "W",
    };
}

/// <summary>
/// The order in which one pp rank runs its forwards and backwards, as PyTorch's schedules (torch.distributed.pipelining:
/// ScheduleGPipe, Schedule1F1B, ScheduleInterleaved1F1B, ScheduleLoopedBFS, ScheduleInterleavedZeroBubble; the
/// V-shaped ones in <see cref="VShapedActions"/>) without their idle slots. Two stages
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
        if (schedule is PipelineSchedule.Interleaved1F1B or PipelineSchedule.InterleavedZeroBubble)
        {
            int rounds = Math.Max(1, microbatches / degree);
            if (microbatches % rounds != 0)
                throw new ConfigException($"pipeline schedule {schedule.Name()} needs the micro-batches in rounds of {degree} (pipeline_parallel_degree) or fewer; {Have()}");
        }
        if (schedule == PipelineSchedule.DualPipeV && microbatches < stages)
            throw new ConfigException($"pipeline schedule DualPipeV needs at least as many micro-batches as stages ({stages}); {Have()}");
    }

    public static IReadOnlyList<PipelineAction> ForRank(PipelineSchedule schedule, int rank, int degree, int stagesPerRank, int microbatches) =>
        schedule switch
        {
            PipelineSchedule.GPipe => GPipe(rank, microbatches),
            PipelineSchedule.OneFOneB => OneFOneB(rank, degree, microbatches),
            PipelineSchedule.Interleaved1F1B => Interleaved(rank, degree, stagesPerRank, microbatches, zeroBubble: false),
            PipelineSchedule.LoopedBFS => LoopedBfs(rank, degree, stagesPerRank, microbatches),
            PipelineSchedule.InterleavedZeroBubble => Interleaved(rank, degree, stagesPerRank, microbatches, zeroBubble: true),
            PipelineSchedule.ZBVZeroBubble => VShapedActions.ZeroBubbleV(rank, degree, microbatches),
            PipelineSchedule.DualPipeV => VShapedActions.DualPipeV(rank, degree, microbatches),
            _ => throw new ArgumentOutOfRangeException(nameof(schedule)),
        };

    private static List<PipelineAction> GPipe(int stage, int m) =>
        [.. Enumerable.Range(0, m).Select(i => PipelineAction.F(stage, i)),
         .. Enumerable.Range(0, m).Select(i => PipelineAction.B(stage, i))];

    /// <summary>Warm-up forwards (one more on each earlier stage), then backward and forward in turn, then the last backwards.</summary>
    private static List<PipelineAction> OneFOneB(int stage, int degree, int m)
    {
        var actions = new List<PipelineAction>();
        int f = 0, b = 0, warmup = Math.Min(m, degree - stage);
        while (f < warmup) actions.Add(PipelineAction.F(stage, f++));
        while (true)
        {
            actions.Add(PipelineAction.B(stage, b++));
            if (f == m) break;
            actions.Add(PipelineAction.F(stage, f++));
        }
        while (b < m) actions.Add(PipelineAction.B(stage, b++));
        return actions;
    }

    /// <summary>PyTorch's ScheduleLoopedBFS: each local stage's forwards in turn, then each one's backwards, stages and micro-batches reversed.</summary>
    private static List<PipelineAction> LoopedBfs(int rank, int degree, int local, int m)
    {
        var stages = Enumerable.Range(0, local).Select(i => i * degree + rank).ToList();
        var actions = stages.SelectMany(s => Enumerable.Range(0, m).Select(i => PipelineAction.F(s, i))).ToList();
        actions.AddRange(Enumerable.Reverse(stages).SelectMany(s => Enumerable.Range(0, m).Reverse().Select(i => PipelineAction.B(s, i))));
        return actions;
    }

    /// <summary>
    /// PyTorch's ScheduleInterleaved1F1B and ScheduleInterleavedZeroBubble (_get_1f1b_rank_ops without its no-op
    /// padding); stage = local index x degree + rank. Zero bubble (ZB1P): one warm-up forward less per hop, I in
    /// place of B, and from the rank-th backward on each I is followed by the oldest pending W; the rest at the end.
    /// </summary>
    private static List<PipelineAction> Interleaved(int rank, int degree, int local, int m, bool zeroBubble)
    {
        int rounds = Math.Max(1, m / degree), perRound = m / rounds;
        int total = local * m;
        int warmup = Math.Min((local - 1) * perRound + (zeroBubble ? 1 : 2) * (degree - 1 - rank), total);
        int ForwardStage(int op) => op / perRound % local * degree + rank;
        int BackwardStage(int op) => (local - 1 - (op - warmup) / perRound % local) * degree + rank;
        var counters = new Dictionary<(PipelineOp, int), int>();
        PipelineAction Next(PipelineOp op, int stage)
        {
            int mb = counters.GetValueOrDefault((op, stage));
            counters[(op, stage)] = mb + 1;
            return new PipelineAction(op, stage, mb);
        }
        var actions = new List<PipelineAction>();
        var backwardOps = new List<int>();
        int weights = 0;
        var backward = zeroBubble ? PipelineOp.BackwardInput : PipelineOp.Backward;
        void Backward(int op)
        {
            actions.Add(Next(backward, BackwardStage(op)));
            backwardOps.Add(op);
            if (zeroBubble && op - warmup >= rank) actions.Add(Next(PipelineOp.BackwardWeight, BackwardStage(backwardOps[weights++])));
        }
        int fwdBwd = total - warmup;
        for (int op = 0; op < warmup + fwdBwd + warmup; op++)
        {
            if (op < warmup + fwdBwd) actions.Add(Next(PipelineOp.Forward, ForwardStage(op)));
            if (op >= warmup) Backward(op);
        }
        while (zeroBubble && weights < backwardOps.Count) actions.Add(Next(PipelineOp.BackwardWeight, BackwardStage(backwardOps[weights++])));
        return actions;
    }
}
