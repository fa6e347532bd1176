using SharpTitan.Config;
using SharpTitan.Parallel;

namespace SharpTitan.Tests.Parallel;

/// <summary>
/// Every schedule's transfer batches (<see cref="PipelineTransfers"/>, what the runner posts) under NCCL's rules, on
/// paper: the n-th send from rank a to rank b meets the n-th receive at b from a, whatever the tags, so both must carry
/// the same thing (same tag); each rank's batches run one after another on its stream (a group call ends when all its
/// transfers met their peers'), and a transfer meets its peer's only while both batches are running. The MPI rows of
/// the feature matrix run the same batches for real.
/// </summary>
public class PipelineTransferTests
{
    [Theory]
    [MemberData(nameof(PipelinePlanTests.Schedules), MemberType = typeof(PipelinePlanTests))]
    public void BatchesMatchInOrderAndNeverDeadlockOnStreams(string name)
    {
        int shapes = 0;
        foreach (var (p, v, m, plan) in PipelinePlanTests.Shapes(PipelineSchedules.Parse(name)))
        {
            var batches = PipelineTransfers.ForPlan(plan);
            for (int r = 0; r < p; r++) PostedInTime(plan, r, batches[r], $"{name} p={p} v={v} m={m} rank {r}");
            RunOnStreams([.. batches.Select(b => b.Select(x => x.Transfers).ToList())], $"{name} p={p} v={v} m={m}");
            shapes++;
        }
        Assert.True(shapes >= 6, $"{name}: only {shapes} shapes checked");
    }

    [Fact]
    public void TheSimulationFindsTheDeadlockOfUnbatchedSendsIn1F1B()
    {
        // The same transfers, each in a batch of its own: in 1F1B's steady state both ranks send first and wait.
        var schedule = PipelineSchedules.Parse("1F1B");
        var plan = new PipelinePlan(schedule, 2, StageSplit.Even(2, 8, 1, 1), 1, 4);
        var ranks = PipelineTransfers.ForPlan(plan)
            .Select(batches => batches.SelectMany(b => b.Transfers.Select(t => new List<PipelineTransfers.Transfer> { t })).ToList()).ToList();
        var e = Assert.Throws<InvalidOperationException>(() => { RunOnStreams(ranks, "1F1B unbatched"); });
        Assert.Contains("deadlock", e.Message);
    }

    [Fact]
    public void TheSimulationFindsMicrobatchesSwappedUnderOneTag()
    {
        var ranks = new List<List<List<PipelineTransfers.Transfer>>>
        {
            new() { new() { new(true, 1, 0, PipelineAction.F(0, 0)) }, new() { new(true, 1, 0, PipelineAction.F(0, 1)) } },
            new() { new() { new(false, 0, 0, PipelineAction.F(1, 1)) }, new() { new(false, 0, 0, PipelineAction.F(1, 0)) } },
        };
        var e = Assert.Throws<InvalidOperationException>(() => { RunOnStreams(ranks, "swapped micro-batches"); });
        Assert.Contains("meets the receive of F1.1", e.Message);
    }

    [Fact]
    public void TheSimulationFindsTransfersMatchedOutOfOrder()
    {
        var f0 = PipelineAction.F(0, 0);
        var ranks = new List<List<List<PipelineTransfers.Transfer>>>
        {
            new() { new() { new(true, 1, 0, f0) }, new() { new(true, 1, 2, f0) } },
            new() { new() { new(false, 0, 2, f0) }, new() { new(false, 0, 0, f0) } },
        };
        var e = Assert.Throws<InvalidOperationException>(() => { RunOnStreams(ranks, "swapped"); });
        Assert.Contains("tag", e.Message);
    }

    /// <summary>
    /// The runner can post them: a send in the batch right after its action (the runner holds one output at a time), a
    /// receive before the action that takes it, each transfer of the rank's actions exactly once, batches in time order.
    /// </summary>
    private static void PostedInTime(PipelinePlan plan, int rank, List<PipelineTransfers.Batch> batches, string what)
    {
        var actions = PipelineActions.ForRank(plan.Schedule, rank, plan.Degree, plan.StagesPerRank, plan.Microbatches).ToList();
        var expected = actions.SelectMany(a => new[] { PipelineTransfers.SendOf(plan, a, rank), PipelineTransfers.ReceiveOf(plan, a, rank) })
            .OfType<PipelineTransfers.Transfer>().ToList();
        var planned = batches.SelectMany(b => b.Transfers).ToList();
        Assert.True(expected.Count == planned.Count && expected.All(planned.Contains), $"{what}: planned transfers differ from the actions'");
        for (int i = 1; i < batches.Count; i++)
            Assert.True(batches[i - 1].Time < batches[i].Time && batches[i - 1].PostBefore <= batches[i].PostBefore, $"{what}: batches out of order");
        foreach (var b in batches)
            foreach (var t in b.Transfers)
            {
                int k = actions.IndexOf(t.Action);
                if (t.IsSend) Assert.True(b.PostBefore == k + 1, $"{what}: {t} posted before action {b.PostBefore}, not right after action {k}");
                else Assert.True(b.PostBefore <= k, $"{what}: {t} posted before action {b.PostBefore}, after the action {k} that takes it");
            }
    }

    /// <summary>Runs the ranks' batches under NCCL's rules; throws on a tag mismatch, an unmatched transfer, or a deadlock.</summary>
    private static void RunOnStreams(List<List<List<PipelineTransfers.Transfer>>> ranks, string what)
    {
        int p = ranks.Count;
        // (rank, batch, index in batch) of the n-th send a -> b and of the n-th receive at b from a.
        var sends = new Dictionary<(int From, int To), List<(int Rank, int Batch, int Index)>>();
        var receives = new Dictionary<(int From, int To), List<(int Rank, int Batch, int Index)>>();
        for (int r = 0; r < p; r++)
            for (int b = 0; b < ranks[r].Count; b++)
                for (int i = 0; i < ranks[r][b].Count; i++)
                {
                    var t = ranks[r][b][i];
                    var key = t.IsSend ? (r, t.Peer) : (t.Peer, r);
                    var table = t.IsSend ? sends : receives;
                    if (!table.TryGetValue(key, out var list)) table[key] = list = [];
                    list.Add((r, b, i));
                }
        var partner = new Dictionary<(int, int, int), (int Rank, int Batch, int Index)>();
        foreach (var (pair, list) in sends)
        {
            var other = receives.GetValueOrDefault(pair) ?? [];
            if (other.Count != list.Count)
                throw new InvalidOperationException($"{what}: {list.Count} sends {pair.From} -> {pair.To} but {other.Count} receives");
            for (int n = 0; n < list.Count; n++)
            {
                var (s, rcv) = (list[n], other[n]);
                var (st, rt) = (ranks[s.Rank][s.Batch][s.Index], ranks[rcv.Rank][rcv.Batch][rcv.Index]);
                if (st.Tag != rt.Tag)
                    throw new InvalidOperationException($"{what}: send {n} {pair.From} -> {pair.To} has tag {st.Tag} ({st.Action}) but the receive it meets has tag {rt.Tag} ({rt.Action})");
                // NCCL buffers of one boundary all have one shape: the receiving action must be the sender's next (or
                // previous) stage on the same micro-batch, or data would be swapped silently.
                int expectedStage = st.Action.Op == PipelineOp.Forward ? st.Action.Stage + 1 : st.Action.Stage - 1;
                if (rt.Action.Microbatch != st.Action.Microbatch || rt.Action.Stage != expectedStage || (rt.Action.Op == PipelineOp.Forward) != (st.Action.Op == PipelineOp.Forward))
                    throw new InvalidOperationException($"{what}: send {n} {pair.From} -> {pair.To} from {st.Action} meets the receive of {rt.Action}");
                partner[s] = rcv;
                partner[rcv] = s;
            }
        }
        if (receives.Any(kv => !sends.ContainsKey(kv.Key)))
            throw new InvalidOperationException($"{what}: receives with no sends");

        var head = new int[p];
        var done = new HashSet<(int, int, int)>();
        for (bool moved = true; moved;)
        {
            moved = false;
            for (int r = 0; r < p; r++)
            {
                while (head[r] < ranks[r].Count)
                {
                    var batch = ranks[r][head[r]];
                    for (int i = 0; i < batch.Count; i++)
                    {
                        var me = (r, head[r], i);
                        var peer = partner[me];
                        if (!done.Contains(me) && head[peer.Rank] == peer.Batch)
                        {
                            done.Add(me);
                            done.Add(peer);
                            moved = true;
                        }
                    }
                    if (!Enumerable.Range(0, batch.Count).All(i => done.Contains((r, head[r], i)))) break;
                    head[r]++;
                    moved = true;
                }
            }
        }
        if (Enumerable.Range(0, p).Any(r => head[r] < ranks[r].Count))
            throw new InvalidOperationException($"{what}: deadlock at " + string.Join("; ", Enumerable.Range(0, p).Select(r =>
                head[r] < ranks[r].Count ? $"rank {r} batch {head[r]} [{string.Join(", ", ranks[r][head[r]])}]" : $"rank {r} done")));
    }
}
