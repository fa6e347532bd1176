using SharpTitan.Distributed;
using SharpTitan.Metrics;
using SharpTitan.Native;
using static TorchSharp.torch;

namespace SharpTitan.Parallel;

/// <summary>
/// Runs this rank's actions of a pipeline schedule for one step. Activations go forward and their gradients back
/// over the pp group in the batches of <see cref="PipelineTransfers"/> (one group call each on NCCL), in the order all
/// ranks agree on: a send right after its action, a receive before the action that takes it, waited for when that
/// action starts. Messages are tagged by sending stage and direction (MPI matches by tag, NCCL by order).
/// Under tensor parallel each TP rank exchanges its own part with the same TP rank of the next stage (its block of
/// the sequence under sequence parallel) and the last stage's loss is loss-parallel when TP says so.
/// </summary>
internal sealed class PipelineRunner(PipelinePlan plan, IReadOnlyList<PipelineStage> stages, IProcessGroup pp, int dim, ScalarType activationDtype,
    TensorParallel? tp)
{
    private readonly IReadOnlyList<PipelineAction> _actions =
        PipelineActions.ForRank(plan.Schedule, pp.Rank, plan.Degree, plan.StagesPerRank, plan.Microbatches);

    public IReadOnlyList<PipelineAction> Actions => _actions;

    private readonly List<PipelineTransfers.Batch> _batches = PipelineTransfers.ForPlan(plan)[pp.Rank];

    /// <summary>Time in <see cref="Step"/> so far, and the part of it spent waiting for other stages (the bubble, plus transfers).</summary>
    public TimeSpan StepTime => _step.Elapsed;
    public TimeSpan WaitTime => _wait.Elapsed;
    private readonly System.Diagnostics.Stopwatch _step = new(), _wait = new();

    /// <summary>
    /// The schedule's idle share in theory: (p - 1) / (v x m + p - 1) with v stages per rank and m micro-batches, or
    /// for schedules that split backwards this rank's share in <see cref="PipelineSimulation"/> (F = I = W).
    /// </summary>
    public double TheoreticalBubble => plan.Schedule.SplitsBackward() ? PipelineSimulation.IdleShares(plan)[pp.Rank]
        : (plan.Degree - 1.0) / (plan.StagesPerRank * plan.Microbatches + plan.Degree - 1.0);

    private PipelineStage Stage(int index) => stages.First(s => s.Index == index);

    private static int ActivationTag(int fromStage) => PipelineTransfers.ActivationTag(fromStage);

    /// <summary>What a micro-batch keeps between its forward and its backward on one stage.</summary>
    private sealed class Micro
    {
        public Tensor? Input;       // received activations (requires grad); null on the first stage
        public Tensor? Output;      // the stage's output (its graph), or the loss on the last stage (fused backward)
        public StageGraph? Graph;   // the same kept in segments, for schedules that split backwards into I and W
    }

    /// <summary>
    /// One step over the local batch: returns the sum of this rank's micro-batch losses (each mean cross-entropy
    /// divided by micro-batches x <paramref name="accumulationSteps"/>), 0 on ranks without the last stage.
    /// </summary>
    public double Step(Tensor inputs, Tensor labels, int accumulationSteps)
    {
        _step.Start();
        try { return RunActions(inputs, labels, accumulationSteps); }
        finally
        {
            BackwardScope.ReleaseAll(); // every backward of the step has returned
            _step.Stop();
        }
    }

    private double RunActions(Tensor inputs, Tensor labels, int accumulationSteps)
    {
        int seq = (int)inputs.shape[1], mbs = plan.MicrobatchSize;
        long hiddenSeq = tp?.LocalSeqLen(seq) ?? seq;
        if (inputs.shape[0] != (long)mbs * plan.Microbatches)
            throw new InvalidOperationException($"pipeline: the batch has {inputs.shape[0]} rows, the plan expects {plan.Microbatches} micro-batches of {mbs}");
        double divisor = (double)plan.Microbatches * accumulationSteps;
        bool segmented = plan.Schedule.SplitsBackward();
        var state = new Dictionary<(int, int), Micro>();
        var receives = new Dictionary<PipelineAction, (IWork Work, Tensor Buffer)>(); // by the action that takes it
        var posted = new List<IWork>();
        int nextBatch = 0;
        // Between two stages on this rank (the V's turn) tensors are handed over here, keyed by (gradient?, receiving stage, micro-batch).
        var local = new Dictionary<(bool, int, int), Tensor>();
        Tensor? outgoing = null; // what the last action produced for another rank
        double lossSum = 0;

        bool Receives(PipelineAction a, PipelineStage stage) =>
            a.Op == PipelineOp.Forward ? !stage.IsFirst : a.TakesGradient && !stage.IsLast;

        // The batches due before action k: the send of action k - 1's output and receives, each batch started together.
        void Post(int k)
        {
            for (; nextBatch < _batches.Count && _batches[nextBatch].PostBefore == k; nextBatch++)
            {
                var batch = _batches[nextBatch].Transfers;
                var transfers = new List<PeerTransfer>(batch.Count);
                var buffers = new List<(int, PipelineAction, Tensor)>();
                foreach (var t in batch)
                {
                    if (t.IsSend)
                    {
                        transfers.Add(PeerTransfer.Send(outgoing ?? throw Unplanned(k, "no"), t.Peer, t.Tag));
                        outgoing = null;
                    }
                    else
                    {
                        var buffer = empty([mbs, hiddenSeq, dim], activationDtype, device: pp.Device);
                        transfers.Add(PeerTransfer.Receive(buffer, t.Peer, t.Tag));
                        buffers.Add((transfers.Count - 1, t.Action, buffer));
                    }
                }
                // A receive is waited for by its action, the sends at the step's end (MPI: a send waited early would wait
                // for the peer's receive too).
                var works = pp.ExchangeAsync(transfers);
                posted.AddRange(works);
                foreach (var (index, action, buffer) in buffers) receives[action] = (works[index], buffer);
            }
            if (outgoing is not null) throw Unplanned(k, "a");
        }

        InvalidOperationException Unplanned(int k, string what) =>
            new($"pipeline: action {(k > 0 ? _actions[k - 1] : "start")} on pp rank {pp.Rank} produced {what} tensor for another rank, against its transfer plan");

        Tensor Received(PipelineAction a)
        {
            if (!receives.Remove(a, out var receive))
            {
                var key = (a.TakesGradient, a.Stage, a.Microbatch);
                var t = local[key];
                local.Remove(key);
                return t;
            }
            _wait.Start();
            using (Tracer.Begin(a.TakesGradient ? "pp_recv_grad" : "pp_recv_activation")) receive.Work.Wait();
            _wait.Stop();
            return receive.Buffer;
        }

        void Send(Tensor t, bool gradient, int toStage, int mb)
        {
            if (plan.RankOf(toStage) == pp.Rank) local[(gradient, toStage, mb)] = t;
            else outgoing = t.contiguous();
        }

        for (int k = 0; k < _actions.Count; k++)
        {
            Post(k);
            var a = _actions[k];
            var stage = Stage(a.Stage);
            // The receive is waited for before the action's span opens: spans are compute, the gaps between them waiting.
            Tensor? received = Receives(a, stage) ? Received(a) : null;
            if (a.Op == PipelineOp.Forward)
            {
                using var span = Tracer.Begin($"forward stage {a.Stage} mb {a.Microbatch}");
                var micro = new Micro { Input = received?.requires_grad_(true) };
                var stageInput = micro.Input ?? inputs.narrow(0, a.Microbatch * mbs, mbs);
                Tensor output;
                if (segmented)
                {
                    micro.Graph = stage.ForwardSegments(stageInput);
                    output = micro.Graph.Output;
                }
                else output = stage.Forward(stageInput);
                if (stage.IsLast)
                {
                    using var target = labels.narrow(0, (long)a.Microbatch * mbs * seq, (long)mbs * seq);
                    var loss = Loss(output.flatten(0, 1), target) / divisor;
                    lossSum += loss.item<float>();
                    if (micro.Graph is { } g) g.SetOutput(loss);
                    else
                    {
                        output.Dispose();
                        output = loss;
                    }
                }
                else Send(output.detach(), false, a.Stage + 1, a.Microbatch);
                if (micro.Graph is null) micro.Output = output;
                state[(a.Stage, a.Microbatch)] = micro;
            }
            else if (a.Op == PipelineOp.BackwardWeight)
            {
                using var span = Tracer.Begin($"weight stage {a.Stage} mb {a.Microbatch}");
                var micro = state[(a.Stage, a.Microbatch)];
                state.Remove((a.Stage, a.Microbatch));
                micro.Graph!.BackwardWeight();
                micro.Graph.Dispose();
            }
            else
            {
                bool split = a.Op == PipelineOp.BackwardInput;
                using var span = Tracer.Begin($"{(split ? "input" : "backward")} stage {a.Stage} mb {a.Microbatch}");
                var micro = state[(a.Stage, a.Microbatch)];
                Tensor? inputGrad;
                if (micro.Graph is { } graph)
                {
                    inputGrad = split ? graph.BackwardInput(received) : graph.Backward(received);
                    received?.Dispose();
                    if (!split)
                    {
                        graph.Dispose();
                        state.Remove((a.Stage, a.Microbatch));
                    }
                }
                else
                {
                    state.Remove((a.Stage, a.Microbatch));
                    if (received is null) micro.Output!.backward();
                    else using (received) autograd.backward([micro.Output!], [received]);
                    micro.Output!.Dispose();
                    inputGrad = micro.Input?.grad;
                }
                if (micro.Input is not null) Send(inputGrad!, true, a.Stage - 1, a.Microbatch);
            }
        }
        Post(_actions.Count);
        _wait.Start();
        using (Tracer.Begin("pp_wait_sends")) foreach (var w in posted) w.Wait();
        _wait.Stop();
        return lossSum;
    }

    private Tensor Loss(Tensor logits, Tensor labels) => LossParallel.TrainingLoss(logits, labels, tp);

    /// <summary>
    /// Forward of the whole batch through the stages in order (no grad): logits [rows, seq, vocab] on every pp
    /// rank (broadcast from the last stage's). Validation.
    /// </summary>
    public Tensor EvaluationLogits(Tensor tokens, long vocab)
    {
        long rows = tokens.shape[0], seq = tokens.shape[1];
        Tensor? h = null;
        var sends = new List<IWork>();
        foreach (var s in plan.Stages)
        {
            if (plan.RankOf(s.Index) != pp.Rank) continue;
            var stage = Stage(s.Index);
            Tensor input = tokens;
            if (!stage.IsFirst && plan.RankOf(s.Index - 1) == pp.Rank) input = h!; // the V's turn: the previous stage ran here
            else if (!stage.IsFirst)
            {
                input = empty([rows, tp?.LocalSeqLen(seq) ?? seq, dim], activationDtype, device: pp.Device);
                pp.RecvAsync(input, plan.RankOf(s.Index - 1), ActivationTag(s.Index - 1)).Wait();
            }
            h = stage.Forward(input);
            if (stage.IsLast && tp != null) using (var local = h) h = tp.GatherLogits(local);
            if (!stage.IsLast && plan.RankOf(s.Index + 1) != pp.Rank) sends.Add(pp.SendAsync(h.contiguous(), plan.RankOf(s.Index + 1), ActivationTag(s.Index)));
        }
        foreach (var w in sends) w.Wait();
        var last = plan.Stages[^1];
        var logits = plan.RankOf(last.Index) == pp.Rank ? h!.contiguous() : empty([rows, seq, vocab], activationDtype, device: pp.Device);
        pp.Broadcast(logits, plan.RankOf(last.Index));
        return logits;
    }
}
