using SharpTitan.Checkpoint;
using SharpTitan.Checkpoint.HuggingFace;
using SharpTitan.Config;

namespace SharpTitan.Cli.Commands;

/// <summary>
/// `sharptitan convert --to hf CHECKPOINT OUT [--dtype D] [--max-shard-size BYTES] [--overwrite]`: a checkpoint's model
/// as a Hugging Face Llama folder (a folder OUT that holds files only with --overwrite, replaced whole). `sharptitan convert --from hf HF_DIR OUT --config FILE [--section.key value ...]`:
/// a Hugging Face Llama folder as a model-only checkpoint OUT/step-0 (for checkpoint.initial_load_path).
/// </summary>
public sealed class ConvertCommand : ICommand
{
    public string Name => "convert";
    public string Summary => "checkpoint <-> Hugging Face: --to hf CHECKPOINT OUT [--overwrite] | --from hf HF_DIR OUT --config FILE";

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
        bool overwrite = false;
        for (int i = 0; i < options.Length; i++)
        {
            string Value() => i + 1 < options.Length ? options[++i] : throw new UsageException($"{options[i]} needs a value");
            if (options[i] == "--dtype") dtypeName = Value();
            else if (options[i] == "--max-shard-size")
                maxShard = long.TryParse(Value(), out var m) && m > 0 ? m : throw new UsageException("--max-shard-size: expected a positive number of bytes");
            else if (options[i] == "--overwrite") overwrite = true;
            else throw new UsageException($"unknown option '{options[i]}' (expected --dtype, --max-shard-size, --overwrite)");
        }
        if (File.Exists(output)) throw new UsageException($"{output} is a file; give a folder for the Hugging Face export");
        if (!overwrite && HfCheckpoint.HoldsFiles(output))
            throw new UsageException($"{output} is not empty; pass --overwrite to replace its contents (the new export is written beside it, then swapped in)");
        var model = CheckpointModel.Open(checkpoint);
        var dtype = dtypeName != null ? Dtypes.Parse(dtypeName, "--dtype") : model.Config.Checkpoint.ExportDtype.ToScalarType();
        var (files, count) = HfCheckpoint.ExportCheckpoint(model, output, dtype, maxShard, overwrite);
        Console.WriteLine($"wrote {output}: {string.Join(", ", files)} ({count} tensors, {Dtypes.Name(dtype)}) from {model.StepFolder}");
        return 0;
    }

    private static int FromHf(string hfFolder, string output, string[] options)
    {
        var config = ConfigLoader.FromCommandLine(options);
        var (final, count) = HfCheckpoint.ImportAsCheckpoint(hfFolder, config, output);
        Console.WriteLine($"wrote {final} ({count} tensors) from {hfFolder}");
        return 0;
    }
}
