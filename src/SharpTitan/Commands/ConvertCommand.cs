using SharpTitan.Native;
using SharpTitan.Checkpoint;
using SharpTitan.Checkpoint.HuggingFace;
using SharpTitan.Config;
using SharpTitan.Data;
using SharpTitan.Distributed;
using SharpTitan.Models.Llama3;
using static TorchSharp.torch;

namespace SharpTitan.Commands;

/// <summary>
/// `sharptitan convert --to hf CHECKPOINT OUT [--dtype D] [--max-shard-size BYTES]`: a checkpoint's model as a
/// Hugging Face Llama folder. `sharptitan convert --from hf HF_DIR OUT --config FILE [--section.key value ...]`:
/// a Hugging Face Llama folder as a model-only checkpoint OUT/step-0 (for checkpoint.initial_load_path).
/// </summary>
public sealed class ConvertCommand : ICommand
{
    public string Name => "convert";
    public string Summary => "checkpoint <-> Hugging Face: --to hf CHECKPOINT OUT | --from hf HF_DIR OUT --config FILE";

    public int Run(string[] args)
    {
        if (args.Length < 4 || args[0] is not ("--to" or "--from") || args[1] != "hf")
            throw new UsageException("expected `convert --to hf CHECKPOINT OUT` or `convert --from hf HF_DIR OUT --config FILE`");
        return args[0] == "--to" ? ToHf(args[2], args[3], args[4..]) : FromHf(args[2], args[3], args[4..]);
    }

    private static int ToHf(string checkpoint, string output, string[] options)
    {
        string? dtypeName = null;
        long maxShard = HfCheckpoint.DefaultMaxShardBytes;
        for (int i = 0; i < options.Length; i++)
        {
            string Value() => i + 1 < options.Length ? options[++i] : throw new UsageException($"{options[i]} needs a value");
            if (options[i] == "--dtype") dtypeName = Value();
            else if (options[i] == "--max-shard-size")
                maxShard = long.TryParse(Value(), out var m) && m > 0 ? m : throw new UsageException("--max-shard-size: expected a positive number of bytes");
            else throw new UsageException($"unknown option '{options[i]}' (expected --dtype, --max-shard-size)");
        }
        var model = CheckpointModel.Open(checkpoint);
        var dtype = dtypeName != null ? Dtypes.Parse(dtypeName, "--dtype") : model.Config.Checkpoint.ExportDtype.ToScalarType();
        using var scope = NewDisposeScope();
        var tensors = CheckpointReader.ReadModel(model.StepFolder);
        List<string> files;
        try { files = HfCheckpoint.Export(tensors, model.Args, output, dtype, maxShard); }
        finally { foreach (var t in tensors.Values) t.Dispose(); }
        Console.WriteLine($"wrote {output}: {string.Join(", ", files)} ({tensors.Count} tensors, {Dtypes.Name(dtype)}) from {model.StepFolder}");
        return 0;
    }

    private static int FromHf(string hfFolder, string output, string[] options)
    {
        var config = ConfigLoader.FromCommandLine(options);
        var tokenizer = TokenizerLoader.Load(config.Model.TokenizerPath);
        if (!ModelFlavors.Llama3.TryGetValue(config.Model.Flavor, out var flavor)) throw new ConfigException($"model.flavor \"{config.Model.Flavor}\" is not a known flavor");
        var args = flavor with { VocabSize = tokenizer.VocabSize, MaxSeqLen = config.Training.SeqLen };
        using var scope = NewDisposeScope();
        var tensors = HfCheckpoint.Import(hfFolder, args);
        CheckpointReader.CheckMatch($"Hugging Face model {hfFolder}", tensors.ToDictionary(t => TrainingState.Model + t.Key, t => t.Value.shape),
            TrainingState.ParameterShapes(args).ToDictionary(t => TrainingState.Model + t.Key, t => t.Value), [TrainingState.Model]);
        var world = new SingleProcessGroup();
        var writer = new CheckpointWriter(output, world, keepLatestK: 0);
        Directory.CreateDirectory(output);
        var data = tensors.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t =>
        {
            var piece = TrainingState.Whole(TrainingState.Model + t.Key, t.Value);
            return (piece, piece.Slice());
        }).ToList();
        var final = writer.Save(new SaveInfo(0, ModelOnly: true, 0, null, ConfigPrinter.ToToml(config)), data);
        Console.WriteLine($"wrote {final} ({tensors.Count} tensors) from {hfFolder}");
        return 0;
    }
}
