using SharpTitan.Config;
using SharpTitan.Data;
using SharpTitan.Kernels;
using SharpTitan.Parallel;
using static TorchSharp.torch;

namespace SharpTitan.Training;

/// <summary>
/// `[validation]`: evaluates the model in no-grad mode on a fixed stream (the validation set from its first
/// document, so the same batches every time) and reports the mean loss.
/// </summary>
public sealed class Validator
{
    private readonly ValidationSection _config;
    private readonly DataSpec _spec;
    private readonly ITokenizer _tokenizer;
    private readonly TextWriter _log;
    private readonly int _seqLen;

    public Validator(ValidationSection config, int trainingSeqLen, TextOptions text, ITokenizer tokenizer, TextWriter log)
    {
        _seqLen = CheckSeqLen(config, trainingSeqLen);
        _config = config;
        _spec = Spec(config, text);
        _tokenizer = tokenizer;
        _log = log;
        // Open once now so a missing or empty dataset fails at start-up, not at the first evaluation.
        using var probe = Loader();
        probe.Next();
    }

    /// <summary>The validation sequence length (unset: training.seq_len); longer than the model's maximum is an error.</summary>
    public static int CheckSeqLen(ValidationSection config, int trainingSeqLen)
    {
        int seqLen = config.SeqLenFor(trainingSeqLen);
        if (seqLen > trainingSeqLen)
            throw new ConfigException($"'validation.seq_len' = {seqLen}: expected at most training.seq_len ({trainingSeqLen}), the model's maximum");
        return seqLen;
    }

    /// <summary>The validation dataset [validation] names.</summary>
    public static DataSpec Spec(ValidationSection config, TextOptions text) => new(config.Dataset, config.DatasetPath, "validation", text);

    private DataLoader Loader() =>
        DataPipeline.CreateLoader(_spec, _tokenizer, _seqLen, _config.LocalBatchSize, prefetch: 0);

    /// <summary>Mean loss over validation.steps batches (-1: one pass over the set, at least one batch). Collective.</summary>
    public (double Loss, int Batches) Evaluate(IModelParts parts)
    {
        var model = parts.Model;
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = no_grad();
            using var loader = Loader();
            double sum = 0;
            int batches = 0;
            while (_config.Steps == -1 || batches < _config.Steps)
            {
                var batch = loader.Next();
                if (_config.Steps == -1 && batches > 0 && loader.State.Epoch > 0) break; // the set is exhausted
                using var scope = NewDisposeScope();
                var inputs = tensor(batch.Inputs, [batch.Rows, batch.SeqLen], device: parts.Device);
                var labels = tensor(batch.Labels, [batch.Rows * batch.SeqLen], device: parts.Device);
                var logits = parts.EvaluationLogits(inputs);
                sum += FusedCrossEntropy.Mean(logits.flatten(0, 1), labels).item<float>();
                batches++;
            }
            return (sum / batches, batches);
        }
        finally
        {
            if (wasTraining) model.train();
        }
    }

    /// <summary>Evaluates and prints the loss (the trainer's recorder logs it to TensorBoard and the metrics file).</summary>
    public double Run(IModelParts parts, int step)
    {
        var (loss, batches) = Evaluate(parts);
        _log.WriteLine($"validation: step {step,5}  loss: {loss,8:F4}  ({batches} batch(es) of {_config.LocalBatchSize} x {_seqLen} from {_config.DatasetPath ?? _config.Dataset})");
        return loss;
    }
}
