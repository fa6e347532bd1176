using SharpTitan.Config;
using SharpTitan.Data;
using SharpTitan.Models.Llama3;
using static TorchSharp.torch;

namespace SharpTitan.Checkpoint;

/// <summary>
/// What a step folder says about its model: the job config it was trained with, the model's shape, and the tokenizer
/// file it carries (<see cref="TokenizerFile"/>; null in checkpoints written before tokenizers were carried).
/// </summary>
public sealed record CheckpointModel(string StepFolder, JobConfig Config, ModelArgs Args, string? TokenizerFile = null)
{
    /// <summary>
    /// Reads step-N/config.toml; the vocabulary size comes from the stored embedding (no tokenizer needed). The
    /// carried tokenizer files are checked against their SHA-256 here.
    /// </summary>
    public static CheckpointModel Open(string path)
    {
        var step = CheckpointFolder.ResolveUserPath(path);
        var toml = Path.Combine(step, CheckpointWriter.ConfigFile);
        if (!File.Exists(toml)) throw new FileNotFoundException($"{toml} is missing: the checkpoint does not carry its job config");
        var config = ConfigLoader.Load(toml);
        var meta = CheckpointMetadata.Read(Path.Combine(step, CheckpointMetadata.FileName));
        var embedding = meta.Tensors.FirstOrDefault(t => t.Name == TrainingState.Model + "tok_embeddings.weight")
                        ?? throw new InvalidDataException($"{step}: no model.tok_embeddings.weight in the checkpoint");
        if (!ModelFlavors.Llama3.TryGetValue(config.Model.Flavor, out var flavor))
            throw new ConfigException($"{toml}: model.flavor \"{config.Model.Flavor}\" is not a known flavor");
        return new CheckpointModel(step, config, flavor with { VocabSize = (int)embedding.Shape[0], MaxSeqLen = config.Training.SeqLen },
            CheckpointTokenizer.Find(step, meta));
    }

    /// <summary>
    /// Where the tokenizer the run trained with is: an override, else the copy in the step folder, else (an older
    /// checkpoint) model.tokenizer_path of its config.
    /// </summary>
    public string TokenizerPath(string? overridePath = null) => overridePath ?? TokenizerFile ?? ModelAssets.TokenizerPath(Config.Model);

    /// <summary>The tokenizer the run trained with (see <see cref="TokenizerPath"/>).</summary>
    public ITokenizer Tokenizer(string? overridePath = null) => TokenizerLoader.Load(TokenizerPath(overridePath));

    /// <summary>
    /// The checkpoint's model on one process, in fp32 and eval mode (inference, export); <paramref name="maxSeqLen"/>
    /// sizes its rotary table (the trained sequence length when null). The caller disposes it.
    /// </summary>
    public Transformer LoadTransformer(int? maxSeqLen = null)
    {
        var model = new Transformer(Args with { MaxSeqLen = maxSeqLen ?? Args.MaxSeqLen });
        try
        {
            using var scope = NewDisposeScope();
            var tensors = CheckpointReader.ReadModel(StepFolder);
            var shapes = model.named_parameters().ToDictionary(p => TrainingState.Model + p.name, p => p.parameter.shape);
            try
            {
                CheckpointReader.CheckMatch($"checkpoint {StepFolder}", tensors.ToDictionary(t => TrainingState.Model + t.Key, t => t.Value.shape), shapes, [TrainingState.Model]);
                using (no_grad())
                    foreach (var (name, p) in model.named_parameters()) p.copy_(tensors[name]);
            }
            finally { foreach (var t in tensors.Values) t.Dispose(); }
        }
        catch
        {
            model.Dispose();
            throw;
        }
        model.eval();
        return model;
    }
}
