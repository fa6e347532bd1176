using System.CommandLine;
using SharpTitan.Checkpoint;
using SharpTitan.Checkpoint.HuggingFace;
using SharpTitan.Config;

namespace SharpTitan.Cli.Commands;

/// <summary>
/// `sharptitan convert --to hf CHECKPOINT OUT [--dtype D] [--max-shard-size BYTES] [--overwrite]`: a checkpoint's model
/// as a Hugging Face Llama folder (a folder OUT that holds files only with --overwrite, replaced whole). `sharptitan convert --from hf HF_DIR OUT --config FILE [--section.key value ...]`:
/// a Hugging Face Llama folder as a model-only checkpoint OUT/step-0 (for checkpoint.initial_load_path).
/// </summary>
public sealed class ConvertCommand : VerbCommand
{
    private const string Usage = "expected `convert --to hf CHECKPOINT OUT` or `convert --from hf HF_DIR OUT --config FILE`";
    private readonly Option<string> _to = new("--to") { Description = "export a checkpoint's model to: hf" };
    private readonly Option<string> _from = new("--from") { Description = "import a model from: hf (needs --config for the model)" };
    private readonly Argument<string> _source = new("SOURCE") { Description = "--to: a checkpoint (folder or step-N); --from: a Hugging Face folder" };
    private readonly Argument<string> _output = new("OUT") { Description = "--to: the Hugging Face folder; --from: the checkpoint folder (OUT/step-0)" };
    private readonly Option<string?> _dtype = new("--dtype") { Description = "--to: the weights' dtype (default checkpoint.export_dtype)" };
    private readonly Option<long> _maxShard = new("--max-shard-size")
    {
        Description = "--to: the largest safetensors file in bytes", HelpName = "BYTES", DefaultValueFactory = _ => HfCheckpoint.DefaultMaxShardBytes,
    };
    private readonly Option<bool> _overwrite = new("--overwrite") { Description = "--to: replace a folder OUT that holds files" };
    private readonly ConfigArguments _config = new();

    public ConvertCommand() : base("convert", "checkpoint <-> Hugging Face: --to hf CHECKPOINT OUT [--overwrite] | --from hf HF_DIR OUT --config FILE")
    {
        _to.AcceptOnlyFromAmong("hf");
        _from.AcceptOnlyFromAmong("hf");
        Add(_source, _output, _to, _from, _dtype, _maxShard, _overwrite);
        _config.AddTo(Command);
    }

    public override string HelpNotes => "\n--to writes config.json, generation_config.json, the weights and the tokenizer the checkpoint carries." +
        "\n--from reads the model's shape and tokenizer from the config (the tokenizer in HF_DIR when the config names none):\n" + ConfigArguments.HelpNotes;

    protected override int Run(ParseResult parse)
    {
        bool to = parse.GetValue(_to) != null, from = parse.GetValue(_from) != null;
        if (to == from) throw new UsageException(Usage);
        return to ? ToHf(parse) : FromHf(parse);
    }

    private int ToHf(ParseResult parse)
    {
        if (_config.Overrides(parse) is [var first, ..])
            throw new UsageException($"unknown option '{first}' (expected --dtype, --max-shard-size, --overwrite)");
        string checkpoint = parse.GetValue(_source)!, output = parse.GetValue(_output)!;
        long maxShard = parse.GetValue(_maxShard);
        if (maxShard <= 0) throw new UsageException("--max-shard-size: expected a positive number of bytes");
        if (File.Exists(output)) throw new UsageException($"{output} is a file; give a folder for the Hugging Face export");
        bool overwrite = parse.GetValue(_overwrite);
        if (!overwrite && HfCheckpoint.HoldsFiles(output))
            throw new UsageException($"{output} is not empty; pass --overwrite to replace its contents (the new export is written beside it, then swapped in)");
        var model = CheckpointModel.Open(checkpoint);
        var dtype = parse.GetValue(_dtype) is { } name ? Dtypes.Parse(name, "--dtype") : model.Config.Checkpoint.ExportDtype.ToScalarType();
        var (files, count) = HfCheckpoint.ExportCheckpoint(model, output, dtype, maxShard, overwrite);
        Console.WriteLine($"wrote {output}: {string.Join(", ", files)} ({count} tensors, {Dtypes.Name(dtype)}) from {model.StepFolder}");
        return 0;
    }

    private int FromHf(ParseResult parse)
    {
        string hfFolder = parse.GetValue(_source)!;
        var (final, count) = HfCheckpoint.ImportAsCheckpoint(hfFolder, _config.Load(parse), parse.GetValue(_output)!);
        Console.WriteLine($"wrote {final} ({count} tensors) from {hfFolder}");
        return 0;
    }
}
