namespace SharpTitan.Parallel;

/// <summary>
/// The action orders of PyTorch's V-shaped schedules (two stages per rank: rank r holds stages r and 2p - 1 - r):
/// ScheduleZBVZeroBubble (the ZB-V schedule of the zero-bubble paper, section 6) and ScheduleDualPipeV (DeepSeek's
/// DualPipe, V variant). Written from their descriptions; each stage's F, B/I and W run in micro-batch order.
/// DualPipeV's overlapped "F of one micro-batch with B of another" pairs run here one after the other (F first):
/// the CPU runner has one compute stream, so the pair is emulated sequentially.
/// </summary>
public static class VShapedActions
{
    /// <summary>ZB-V: warm-up forwards down and back up the V, then F / I / W of each chunk in turn, then I and W cool-down.</summary>
    public static List<PipelineAction> ZeroBubbleV(int rank, int degree, int m)
    {
        int n = Math.Max(2 * degree - 1, m); // planned for at least 2p - 1 micro-batches; the others are dropped below
        int s0 = rank, s1 = 2 * degree - 1 - rank;
        int f0 = 0, f1 = 0, b0 = 0, b1 = 0;
        var a = new List<PipelineAction>();
        for (int i = 0; i < 2 * (degree - rank) - 1; i++) a.Add(PipelineAction.F(s0, f0++));
        for (int i = 0; i < rank; i++)
        {
            a.Add(PipelineAction.F(s1, f1++));
            a.Add(PipelineAction.F(s0, f0++));
        }
        for (int i = 0; i < degree - rank; i++)
        {
            a.Add(PipelineAction.F(s1, f1++));
            a.Add(PipelineAction.I(s1, b1));
            a.Add(PipelineAction.W(s1, b1++));
        }
        while (f1 < f0 || f0 < n)
        {
            if (f0 < n) a.Add(PipelineAction.F(s0, f0++));
            a.Add(PipelineAction.I(s0, b0));
            a.Add(PipelineAction.W(s0, b0++));
            a.Add(PipelineAction.F(s1, f1++));
            a.Add(PipelineAction.I(s1, b1));
            a.Add(PipelineAction.W(s1, b1++));
        }
        int w0 = b0, w1 = b1;
        for (int i = 0; i < rank; i++)
        {
            a.Add(PipelineAction.I(s0, b0++));
            a.Add(PipelineAction.I(s1, b1++));
        }
        for (int i = 0; i < degree - rank; i++)
        {
            a.Add(PipelineAction.I(s0, b0++));
            a.Add(PipelineAction.W(s0, w0++));
        }
        while (w1 < b1) a.Add(PipelineAction.W(s1, w1++));
        while (w0 < b0) a.Add(PipelineAction.W(s0, w0++));
        return a.Where(x => x.Microbatch < m).ToList();
    }

    /// <summary>
    /// DualPipeV: F0 warm-up, F0 F1 pairs, I1 W F1, then the main part of (F0 with B1, F1 with B0) pairs, B1 with
    /// (F1, B0), B1 B0 (the later half split into I with a W queue), W B0, and the queued W's. Needs m >= 2p.
    /// </summary>
    public static List<PipelineAction> DualPipeV(int rank, int degree, int m)
    {
        int s0 = rank, s1 = 2 * degree - 1 - rank;
        var a = new List<PipelineAction>();
        var forwards = new Dictionary<int, int>();
        var backwards = new Dictionary<int, int>();
        var weights = new Queue<PipelineAction>();
        void F(int s) { a.Add(PipelineAction.F(s, forwards.GetValueOrDefault(s))); forwards[s] = forwards.GetValueOrDefault(s) + 1; }
        void Back(int s, bool split)
        {
            int mb = backwards.GetValueOrDefault(s);
            backwards[s] = mb + 1;
            a.Add(split ? PipelineAction.I(s, mb) : PipelineAction.B(s, mb));
            if (split) weights.Enqueue(PipelineAction.W(s, mb));
        }
        void PendingW() { if (weights.Count > 0) a.Add(weights.Dequeue()); }

        for (int i = 0; i < 2 * (degree - rank - 1); i++) F(s0);
        for (int i = 0; i < rank + 1; i++) { F(s0); F(s1); }
        for (int i = 0; i < degree - rank - 1; i++) { Back(s1, split: true); PendingW(); F(s1); }
        for (int i = 0; i < m - 2 * degree + rank + 1; i++)
        {
            F(s0); Back(s1, split: false); // overlapped pair (not on the last rank's first step: PyTorch runs those apart)
            F(s1); Back(s0, split: false); // overlapped pair
        }
        for (int i = 0; i < degree - rank - 1; i++) { Back(s1, split: false); F(s1); Back(s0, split: false); }
        bool zeroBubble = false;
        int half = (rank + 1) / 2;
        for (int i = 0; i < rank + 1; i++)
        {
            if (i == half && rank % 2 == 1) zeroBubble = true;
            Back(s1, zeroBubble);
            if (i == half && rank % 2 == 0) zeroBubble = true;
            Back(s0, zeroBubble);
        }
        for (int i = 0; i < degree - rank - 1; i++) { PendingW(); Back(s0, zeroBubble); }
        for (int i = 0; i < rank + 1; i++) PendingW();
        while (weights.Count > 0) PendingW();
        return a;
    }
}
