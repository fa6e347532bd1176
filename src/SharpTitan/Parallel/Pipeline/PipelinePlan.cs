using SharpTitan.Config;
using SharpTitan.Models.Llama3;

namespace SharpTitan.Parallel;

/// <summary>
/// The pipeline of a job: the schedule, the stages (model parts) and which rank runs each (stage s on pp rank
/// s mod degree: torchtitan's "loop" style; V-shaped schedules: rank r runs stages r and 2p - 1 - r, so the last
/// stage is on rank 0), the micro-batches. Built from the config with torchtitan's rules and
/// one-line errors (pipeline_llm in its distributed/pipeline_parallel.py).
/// </summary>
public sealed record PipelinePlan(PipelineSchedule Schedule, int Degree, IReadOnlyList<StageModules> Stages, int MicrobatchSize, int Microbatches)
{
    public int StagesPerRank => Stages.Count / Degree;

    public int RankOf(int stage) => Schedule.IsVShaped() ? (stage < Degree ? stage : 2 * Degree - 1 - stage) : stage % Degree;

    public IReadOnlyList<StageModules> StagesOf(int rank) => Stages.Where(s => RankOf(s.Index) == rank).ToList();

    public static PipelinePlan For(ModelArgs args, ParallelismSection p, int localBatch)
    {
        int pp = p.PipelineParallelDegree, layers = args.NLayers;
        var schedule = PipelineSchedules.Parse(p.PipelineParallelSchedule);
        int input = p.PipelineParallelFirstStageLessLayers, output = p.PipelineParallelLastStageLessLayers;

        IReadOnlyList<StageModules> stages;
        if (p.ModuleFqnsPerModelPart is { } parts)
            stages = StageSplit.Explicit(parts, layers);
        else
        {
            int count;
            if (p.PipelineParallelLayersPerStage is { } perStage)
            {
                count = (layers + input + output + perStage - 1) / perStage;
                var asked = $"'parallelism.pipeline_parallel_layers_per_stage' = {perStage} makes {count} stages of {layers} layers (+{input} +{output} for the embedding and output)";
                if (count % pp != 0)
                    throw new ConfigException($"{asked}, which pipeline_parallel_degree {pp} does not divide");
                if (!schedule.IsMultiStage() && count != pp)
                    throw new ConfigException($"{asked}; schedule {schedule.Name()} runs one stage per rank, so it needs {pp}");
                if (schedule.IsMultiStage() && count / pp < 2)
                    throw new ConfigException($"{asked}; schedule {schedule.Name()} needs at least 2 stages per rank ({2 * pp})");
                if (schedule.IsVShaped() && count != 2 * pp)
                    throw new ConfigException($"{asked}; schedule {schedule.Name()} runs exactly 2 stages per rank, so it needs {2 * pp}");
            }
            else count = pp * (schedule.IsMultiStage() ? 2 : 1);
            stages = StageSplit.Even(count, layers, input, output);
        }
        if (stages.Count % pp != 0)
            throw new ConfigException($"pipeline parallel: {stages.Count} model parts cannot be shared by pipeline_parallel_degree {pp} ranks");
        if (!schedule.IsMultiStage() && stages.Count != pp)
            throw new ConfigException($"pipeline parallel: schedule {schedule.Name()} runs one stage per rank, but there are {stages.Count} model parts for {pp} ranks");
        if (schedule.IsVShaped() && stages.Count != 2 * pp)
            throw new ConfigException($"pipeline parallel: schedule {schedule.Name()} runs exactly 2 stages per rank, but there are {stages.Count} model parts for {pp} ranks");

        int mbs = p.PipelineParallelMicrobatchSize;
        if (localBatch % mbs != 0)
            throw new ConfigException($"'training.local_batch_size' = {localBatch} is not a multiple of parallelism.pipeline_parallel_microbatch_size ({mbs})");
        int microbatches = localBatch / mbs;
        PipelineActions.RequireEnoughMicrobatches(schedule, stages.Count, pp, microbatches);
        return new PipelinePlan(schedule, pp, stages, mbs, microbatches);
    }

    public override string ToString() =>
        $"pipeline parallel: degree {Degree}, schedule {Schedule.Name()}, {Stages.Count} stages ({StagesPerRank} per rank), " +
        $"{Microbatches} micro-batches of {MicrobatchSize}";
}
