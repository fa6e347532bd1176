using SharpTitan.Config;
using SharpTitan.Models.Llama3;
using SharpTitan.Parallel;

namespace SharpTitan.Tests.Parallel;

/// <summary>The pipeline's split, schedules and one-line errors, without ranks.</summary>
public class PipelinePlanTests
{
    private static readonly ModelArgs Eight = ModelFlavors.Llama3["tiny"] with { NLayers = 8, VocabSize = 259 };

    private static ParallelismSection Pp(int degree, string schedule = "1F1B", int microbatch = 1, int? layersPerStage = null,
        int first = 1, int last = 1) => new()
    {
        PipelineParallelDegree = degree, PipelineParallelSchedule = schedule, PipelineParallelMicrobatchSize = microbatch,
        PipelineParallelLayersPerStage = layersPerStage, PipelineParallelFirstStageLessLayers = first, PipelineParallelLastStageLessLayers = last,
    };

    private static string[] Fqns(PipelinePlan plan) => plan.Stages.Select(s => string.Join(" ", s.Fqns)).ToArray();

    [Fact]
    public void StagesFollowTorchtitansSplit()
    {
        // 8 layers + 1 + 1 = 10 effective: 5 per stage, the embedding and the output each taking one layer's place.
        Assert.Equal(["tok_embeddings layers.0 layers.1 layers.2 layers.3", "layers.4 layers.5 layers.6 layers.7 norm output"],
            Fqns(PipelinePlan.For(Eight, Pp(2), 8)));
        // 10 over 4 stages: 3, 3, 2, 2.
        Assert.Equal(["tok_embeddings layers.0 layers.1", "layers.2 layers.3 layers.4", "layers.5 layers.6", "layers.7 norm output"],
            Fqns(PipelinePlan.For(Eight, Pp(4), 8)));
        // Interleaved: two stages per rank by default, stage s on rank s mod 2.
        var interleaved = PipelinePlan.For(Eight, Pp(2, "Interleaved1F1B"), 8);
        Assert.Equal(4, interleaved.Stages.Count);
        Assert.Equal([0, 2], interleaved.StagesOf(0).Select(s => s.Index));
        // V-shaped schedules: two stages per rank, rank r holding r and 2p - 1 - r (the last stage on rank 0).
        var v = PipelinePlan.For(Eight, Pp(2, "ZBVZeroBubble"), 8);
        Assert.Equal([0, 3], v.StagesOf(0).Select(s => s.Index));
        Assert.Equal([1, 2], v.StagesOf(1).Select(s => s.Index));
        var dual = PipelinePlan.For(Eight, Pp(4, "DualPipeV"), 8);
        Assert.Equal([0, 7], dual.StagesOf(0).Select(s => s.Index));
        Assert.Equal([3, 4], dual.StagesOf(3).Select(s => s.Index));
        // layers_per_stage 2 with weights 1 + 1: ceil(10 / 2) = 5 stages, which PP 2 does not divide.
        Assert.Equal(6, PipelinePlan.For(Eight with { NLayers = 10 }, Pp(2, "Interleaved1F1B", layersPerStage: 2), 8).Stages.Count);
        // No weight for the embedding and output: 8 layers as 4 + 4.
        Assert.Equal(["tok_embeddings layers.0 layers.1 layers.2 layers.3", "layers.4 layers.5 layers.6 layers.7 norm output"],
            Fqns(PipelinePlan.For(Eight, Pp(2, first: 0, last: 0), 8)));
        Assert.Equal(["tok_embeddings layers.0", "layers.1 norm output"],
            Fqns(PipelinePlan.For(Eight with { NLayers = 2 }, Pp(2), 4)));
    }

    [Theory]
    [InlineData(2, "1F1B", 1, 3, null, "'parallelism.pipeline_parallel_layers_per_stage' = 3 makes 4 stages of 8 layers (+1 +1 for the embedding and output); schedule 1F1B runs one stage per rank, so it needs 2")]
    [InlineData(2, "Interleaved1F1B", 1, 2, null, "'parallelism.pipeline_parallel_layers_per_stage' = 2 makes 5 stages of 8 layers (+1 +1 for the embedding and output), which pipeline_parallel_degree 2 does not divide")]
    [InlineData(2, "1F1B", 3, null, 8, "'training.local_batch_size' = 8 is not a multiple of parallelism.pipeline_parallel_microbatch_size (3)")]
    [InlineData(4, "1F1B", 4, null, 8, "pipeline schedule 1F1B needs at least as many micro-batches as stages (4); training.local_batch_size / parallelism.pipeline_parallel_microbatch_size gives 2")]
    [InlineData(16, "GPipe", 1, null, 16, "pipeline parallel: 16 stages for 8 layers (+1 +1 for the embedding and output")]
    [InlineData(2, "DualPipeV", 1, null, 2, "pipeline schedule DualPipeV needs at least as many micro-batches as stages (4); training.local_batch_size / parallelism.pipeline_parallel_microbatch_size gives 2")]
    [InlineData(4, "InterleavedZeroBubble", 1, null, 9, "pipeline schedule InterleavedZeroBubble needs the micro-batches in rounds of 4 (pipeline_parallel_degree) or fewer; training.local_batch_size / parallelism.pipeline_parallel_microbatch_size gives 9")]
    [InlineData(2, "ZBVZeroBubble", 1, 1, 8, "'parallelism.pipeline_parallel_layers_per_stage' = 1 makes 10 stages of 8 layers (+1 +1 for the embedding and output); schedule ZBVZeroBubble runs exactly 2 stages per rank, so it needs 4")]
    [InlineData(2, "2F2B", 1, null, 8, "'parallelism.pipeline_parallel_schedule' = \"2F2B\": expected one of \"GPipe\", \"1F1B\", \"Interleaved1F1B\", \"LoopedBFS\", \"InterleavedZeroBubble\", \"ZBVZeroBubble\", \"DualPipeV\"")]
    public void BadConfigurationsAreOneLineErrors(int degree, string schedule, int microbatch, int? layersPerStage, int? localBatch, string message)
    {
        var e = Assert.Throws<ConfigException>(() => PipelinePlan.For(Eight, Pp(degree, schedule, microbatch, layersPerStage), localBatch ?? 8));
        Assert.StartsWith(message, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    /// <summary>Tied embeddings split as untied ones (the last stage's rank keeps a copy of the weight: PipelineModelParts).</summary>
    [Fact]
    public void TiedEmbeddingsSplitAsUntied() =>
        Assert.Equal(PipelinePlan.For(Eight, Pp(2), 8).Stages, PipelinePlan.For(Eight with { TieEmbeddings = true }, Pp(2), 8).Stages);

    [Fact]
    public void ExplicitModelPartsAreCheckedAndUsed()
    {
        string[][] parts = [["tok_embeddings", "layers.0"], ["layers.1", "norm", "output"]];
        Assert.Equal(["tok_embeddings layers.0", "layers.1 norm output"],
            StageSplit.Explicit(parts, 2).Select(s => string.Join(" ", s.Fqns)));
        Assert.Contains("in this order, each once", Assert.Throws<ConfigException>(() =>
            StageSplit.Explicit([["tok_embeddings", "layers.1"], ["layers.0", "norm", "output"]], 2)).Message);
    }

    [Fact]
    public void ModuleFqnsPerModelPartReadsTomlListsOfListsAndCommandLineLists()
    {
        var toml = Path.Combine(Support.TestSetup.TempDir("pp-config"), "pp.toml");
        File.WriteAllText(toml, "[parallelism]\nmodule_fqns_per_model_part = [[\"tok_embeddings\", \"layers.0\"], [\"layers.1\", \"norm\", \"output\"]]\n");
        string[][] expected = [["tok_embeddings", "layers.0"], ["layers.1", "norm", "output"]];
        Assert.Equal(expected, ConfigLoader.Load(toml).Parallelism.ModuleFqnsPerModelPart);
        Assert.Equal(expected, ConfigLoader.Load(null,
            ["--parallelism.module_fqns_per_model_part", "tok_embeddings,layers.0;layers.1,norm,output"]).Parallelism.ModuleFqnsPerModelPart);
        File.WriteAllText(toml, "[parallelism]\nmodule_fqns_per_model_part = [\"tok_embeddings\"]\n");
        Assert.Contains("expected a list of lists of strings", Assert.Throws<ConfigException>(() => ConfigLoader.Load(toml)).Message);
    }

    [Theory]
    [InlineData("GPipe", 0, "F0.0 F0.1 F0.2 F0.3 B0.0 B0.1 B0.2 B0.3")]
    [InlineData("1F1B", 0, "F0.0 F0.1 B0.0 F0.2 B0.1 F0.3 B0.2 B0.3")]
    [InlineData("1F1B", 1, "F1.0 B1.0 F1.1 B1.1 F1.2 B1.2 F1.3 B1.3")]
    // PyTorch's ScheduleInterleaved1F1B at pp 2, 2 stages per rank, 4 micro-batches (its no-op slots left out).
    [InlineData("Interleaved1F1B", 0, "F0.0 F0.1 F2.0 F2.1 F0.2 B2.0 F0.3 B2.1 F2.2 B0.0 F2.3 B0.1 B2.2 B2.3 B0.2 B0.3")]
    [InlineData("LoopedBFS", 0, "F0.0 F0.1 F0.2 F0.3 F2.0 F2.1 F2.2 F2.3 B2.3 B2.2 B2.1 B2.0 B0.3 B0.2 B0.1 B0.0")]
    [InlineData("Interleaved1F1B", 1, "F1.0 F1.1 F3.0 B3.0 F3.1 B3.1 F1.2 B1.0 F1.3 B1.1 F3.2 B3.2 F3.3 B3.3 B1.2 B1.3")]
    // PyTorch's ScheduleInterleavedZeroBubble, ScheduleZBVZeroBubble and ScheduleDualPipeV at pp 2, 4 micro-batches (DualPipeV's
    // overlapped F-with-B pairs as F then B). The same held for pp 2-4, 1-12 micro-batches (and 3 local stages for the interleaved one).
    [InlineData("InterleavedZeroBubble", 0, "F0.0 F0.1 F2.0 F2.1 I2.0 W2.0 F0.2 I2.1 W2.1 F0.3 I0.0 W0.0 F2.2 I0.1 W0.1 F2.3 I2.2 W2.2 I2.3 W2.3 I0.2 W0.2 I0.3 W0.3")]
    [InlineData("InterleavedZeroBubble", 1, "F1.0 F1.1 F3.0 I3.0 F3.1 I3.1 W3.0 F1.2 I1.0 W3.1 F1.3 I1.1 W1.0 F3.2 I3.2 W1.1 F3.3 I3.3 W3.2 I1.2 W3.3 I1.3 W1.2 W1.3")]
    [InlineData("ZBVZeroBubble", 0, "F0.0 F0.1 F0.2 F3.0 I3.0 W3.0 F3.1 I3.1 W3.1 F0.3 I0.0 W0.0 F3.2 I3.2 W3.2 I0.1 W0.1 F3.3 I3.3 W3.3 I0.2 W0.2 I0.3 W0.3")]
    [InlineData("ZBVZeroBubble", 1, "F1.0 F2.0 F1.1 F2.1 I2.0 W2.0 F1.2 I1.0 W1.0 F2.2 I2.1 W2.1 F1.3 I1.1 W1.1 F2.3 I2.2 W2.2 I1.2 I2.3 I1.3 W1.2 W2.3 W1.3")]
    [InlineData("DualPipeV", 0, "F0.0 F0.1 F0.2 F3.0 I3.0 W3.0 F3.1 F0.3 B3.1 F3.2 B0.0 B3.2 F3.3 B0.1 B3.3 I0.2 W0.2 I0.3 W0.3")]
    [InlineData("DualPipeV", 1, "F1.0 F2.0 F1.1 F2.1 F1.2 B2.0 F2.2 B1.0 F1.3 B2.1 F2.3 B1.1 B2.2 B1.2 I2.3 I1.3 W2.3 W1.3")]
    public void SchedulesOrderTheirActionsAsPyTorch(string schedule, int rank, string expected)
    {
        var s = PipelineSchedules.Parse(schedule);
        var actions = PipelineActions.ForRank(s, rank, 2, s.IsMultiStage() ? 2 : 1, 4);
        Assert.Equal(expected, string.Join(" ", actions));
    }

    public static TheoryData<string> Schedules => new() { "GPipe", "1F1B", "Interleaved1F1B", "LoopedBFS", "InterleavedZeroBubble", "ZBVZeroBubble", "DualPipeV" };

    /// <summary>The plans a schedule is checked on: PP 2-4, its stages per rank (1, 2-3, or 2 for V), every micro-batch count it accepts up to 2pv + 2.</summary>
    internal static IEnumerable<(int P, int V, int M, PipelinePlan Plan)> Shapes(PipelineSchedule schedule)
    {
        foreach (int p in new[] { 2, 3, 4 })
            foreach (int v in schedule.IsVShaped() ? new[] { 2 } : schedule.IsMultiStage() ? new[] { 2, 3 } : new[] { 1 })
                foreach (int m in Enumerable.Range(1, 2 * p * v + 2))
                {
                    int stages = p * v;
                    try { PipelineActions.RequireEnoughMicrobatches(schedule, stages, p, m); }
                    catch (ConfigException) { continue; }
                    yield return (p, v, m, new PipelinePlan(schedule, p, StageSplit.Even(stages, 4 * stages, 1, 1), 1, m));
                }
    }

    /// <summary>
    /// Every schedule, run as the runner does (non-blocking sends; an action waits only for its input), finishes on
    /// every rank for many shapes (<see cref="PipelineSimulation"/> throws on a deadlock: no rank able to move), and
    /// runs each stage's forward once per micro-batch and its backward once (B, or I then W) on the stage's rank.
    /// </summary>
    [Theory]
    [MemberData(nameof(Schedules))]
    public void SchedulesNeverDeadlockAndRunEveryActionOnce(string name)
    {
        var schedule = PipelineSchedules.Parse(name);
        int shapes = 0;
        foreach (var (p, v, m, plan) in Shapes(schedule))
        {
            int stages = p * v;
            var ranks = Enumerable.Range(0, p).Select(r => (IReadOnlyList<PipelineAction>)PipelineActions.ForRank(schedule, r, p, v, m)).ToList();
            for (int r = 0; r < p; r++)
            {
                var mine = ranks[r].ToList();
                Assert.Equal(mine.Count, mine.Distinct().Count());
                Assert.All(mine, a => Assert.Equal(r, plan.RankOf(a.Stage)));
                foreach (var s in plan.StagesOf(r).Select(s => s.Index))
                    for (int mb = 0; mb < m; mb++)
                    {
                        bool Has(PipelineOp op) => mine.Contains(new PipelineAction(op, s, mb));
                        Assert.True(Has(PipelineOp.Forward), $"{name} p={p} m={m}: no F{s}.{mb}");
                        Assert.True(Has(PipelineOp.Backward) != (Has(PipelineOp.BackwardInput) && Has(PipelineOp.BackwardWeight)),
                            $"{name} p={p} m={m}: stage {s} mb {mb} needs B or I and W, once");
                        Assert.Equal(Has(PipelineOp.BackwardInput), Has(PipelineOp.BackwardWeight));
                        if (Has(PipelineOp.BackwardInput))
                            Assert.True(mine.IndexOf(PipelineAction.I(s, mb)) < mine.IndexOf(PipelineAction.W(s, mb)), $"{name}: W{s}.{mb} before its I");
                    }
            }
            var idle = PipelineSimulation.IdleShares(ranks, stages); // throws on a deadlock
            Assert.All(idle, x => Assert.InRange(x, 0, 1));
            shapes++;
        }
        Assert.True(shapes >= 6, $"{name}: only {shapes} shapes checked");
    }
}
