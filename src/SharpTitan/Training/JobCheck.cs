using SharpTitan.Config;
using SharpTitan.Data;
using SharpTitan.Distributed;
using SharpTitan.Models.Llama3;
using SharpTitan.Native;
using SharpTitan.Parallel;

namespace SharpTitan.Training;

/// <summary>
/// Everything a training job is checked for before anything is built: features not built yet, the device, the parallel layout,
/// the tokenizer, the model's shape against the layout, the batch sizes, the validation length and the datasets.
/// The <see cref="Trainer"/> runs it first; `sharptitan config` runs it alone. One validation, the same one-line errors.
/// </summary>
public static class JobCheck
{
    /// <summary>What the checks worked out, for the trainer to build with.</summary>
    public sealed record Plan(ParallelDims Dims, ITokenizer Tokenizer, ModelArgs ModelArgs, int GlobalBatch, int AccumulationSteps,
        DataSpec TrainingData, TextOptions Text, TorchSharp.torch.Device Device);

    /// <param name="worldSize">The job's ranks; null = the ranks the degrees ask for (a data_parallel_shard_degree of -1 takes one).</param>
    /// <param name="modelArgs">A model shape other than the configured flavor's (benchmarks, experiments).</param>
    public static Plan Run(JobConfig config, int? worldSize = null, ModelArgs? modelArgs = null)
    {
        FeatureGate.RequireBuilt(config);
        var device = ComputeDevice.Choose(config.Training.Device); // training.device = "cuda" without CUDA fails here
        var p = config.Parallelism;
        var dims = new ParallelDims(p.DataParallelReplicateDegree, p.DataParallelShardDegree, p.ContextParallelDegree,
            p.TensorParallelDegree, p.PipelineParallelDegree, worldSize ?? RanksAsked(p));

        var tokenizer = TokenizerLoader.Load(ModelAssets.TokenizerPath(config.Model));
        var args = (modelArgs ?? ModelFlavors.Llama3[config.Model.Flavor]) with
        {
            VocabSize = tokenizer.VocabSize,
            MaxSeqLen = config.Training.SeqLen,
        };
        Llama3Parallelize.Validate(args, config, dims);

        int local = config.Training.LocalBatchSize, dp = dims.DpDegree;
        int global = config.Training.GlobalBatchSize == -1 ? local * dp : config.Training.GlobalBatchSize;
        if (global % (local * dp) != 0)
            throw new ConfigException($"'training.global_batch_size' = {global}: expected a multiple of training.local_batch_size ({local}) x the data-parallel degree ({dp})");

        var text = new TextOptions(config.Training.DatasetTextField, config.Training.DatasetTxtSplit == TxtDocumentSplit.BlankLines);
        var training = new DataSpec(config.Training.Dataset, config.Training.DatasetPath, "training", text);
        DataPipeline.Check(training, tokenizer);
        if (config.Validation.Enable)
        {
            Validator.CheckSeqLen(config.Validation, config.Training.SeqLen);
            DataPipeline.Check(Validator.Spec(config.Validation, text), tokenizer);
        }
        return new Plan(dims, tokenizer, args, global, global / (local * dp), training, text, device);
    }

    private static int RanksAsked(ParallelismSection p) =>
        p.DataParallelReplicateDegree * Math.Max(p.DataParallelShardDegree, 1) * p.ContextParallelDegree * p.TensorParallelDegree
        * p.PipelineParallelDegree;
}
