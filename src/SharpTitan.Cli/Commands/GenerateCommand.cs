using System.CommandLine;
using SharpTitan.Checkpoint;
using SharpTitan.Inference;
using SharpTitan.Native;

namespace SharpTitan.Cli.Commands;

/// <summary>
/// `sharptitan generate --checkpoint X --prompt "..." --max-new-tokens N [--temperature T] [--top-k K] [--seed S]
/// [--tokenizer PATH]`: samples a continuation from a checkpoint (one process). The checkpoint's config.toml gives
/// the model flavor; the tokenizer is the one the step folder carries (older checkpoints: the config's tokenizer_path).
/// </summary>
public sealed class GenerateCommand : VerbCommand
{
    private readonly Option<string> _checkpoint = new("--checkpoint") { Description = "a checkpoint folder or one of its step-N folders", Required = true };
    private readonly Option<string> _prompt = new("--prompt") { Description = "the text to continue", Required = true };
    private readonly Option<int> _maxNew = new("--max-new-tokens") { Description = "tokens to sample", HelpName = "N", DefaultValueFactory = _ => 50 };
    private readonly Option<double> _temperature = new("--temperature") { Description = "sampling temperature; 0 = greedy", HelpName = "T", DefaultValueFactory = _ => 1.0 };
    private readonly Option<int> _topK = new("--top-k") { Description = "sample among the K likeliest tokens; 0 = all", HelpName = "K" };
    private readonly Option<long> _seed = new("--seed") { Description = "the sampling seed", HelpName = "S" };
    private readonly Option<string?> _tokenizer = new("--tokenizer") { Description = "a tokenizer other than the one the checkpoint carries", HelpName = "PATH" };

    public GenerateCommand() : base("generate", "sample text from a checkpoint: --checkpoint X --prompt \"...\" --max-new-tokens N [--temperature T --top-k K]") =>
        Add(_checkpoint, _prompt, _maxNew, _temperature, _topK, _seed, _tokenizer);

    protected override int Run(ParseResult parse)
    {
        int maxNew = parse.GetValue(_maxNew), topK = parse.GetValue(_topK);
        double temperature = parse.GetValue(_temperature);
        if (maxNew < 0 || temperature < 0 || topK < 0) throw new UsageException("--max-new-tokens, --temperature and --top-k must not be negative");
        var info = CheckpointModel.Open(parse.GetValue(_checkpoint)!);
        var tokenizer = info.Tokenizer(parse.GetValue(_tokenizer));
        string prompt = parse.GetValue(_prompt)!;
        var ids = new List<int> { tokenizer.BosId };
        ids.AddRange(tokenizer.Encode(prompt));
        using var model = info.LoadTransformer(TextGenerator.ContextLength(info, ids.Count, maxNew));
        ComputeDevice.Place(model, ComputeDevice.Choose(info.Config.Training.Device));
        var output = TextGenerator.Generate(model, ids, maxNew, new SamplingOptions(temperature, topK, parse.GetValue(_seed), tokenizer.EosId));
        Console.WriteLine(prompt + tokenizer.Decode(output.Where(t => t != tokenizer.EosId)));
        return 0;
    }
}
