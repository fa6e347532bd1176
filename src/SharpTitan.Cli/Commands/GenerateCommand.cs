using System.Globalization;
using SharpTitan.Checkpoint;
using SharpTitan.Inference;
using SharpTitan.Native;

namespace SharpTitan.Cli.Commands;

/// <summary>
/// `sharptitan generate --checkpoint X --prompt "..." --max-new-tokens N [--temperature T] [--top-k K] [--seed S]
/// [--tokenizer PATH]`: samples a continuation from a checkpoint (one process). The checkpoint's config.toml gives
/// the model flavor and tokenizer.
/// </summary>
public sealed class GenerateCommand : ICommand
{
    public string Name => "generate";
    public string Summary => "sample text from a checkpoint: --checkpoint X --prompt \"...\" --max-new-tokens N [--temperature T --top-k K]";

    public int Run(string[] args)
    {
        string? checkpoint = null, prompt = null, tokenizerPath = null;
        int maxNew = 50, topK = 0;
        double temperature = 1.0;
        long seed = 0;
        for (int i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new UsageException($"{args[i]} needs a value");
            T Number<T>(string name) where T : IParsable<T> =>
                T.TryParse(Value(), CultureInfo.InvariantCulture, out var v) ? v : throw new UsageException($"{name}: expected a number");
            switch (args[i])
            {
                case "--checkpoint": checkpoint = Value(); break;
                case "--prompt": prompt = Value(); break;
                case "--tokenizer": tokenizerPath = Value(); break;
                case "--max-new-tokens": maxNew = Number<int>("--max-new-tokens"); break;
                case "--temperature": temperature = Number<double>("--temperature"); break;
                case "--top-k": topK = Number<int>("--top-k"); break;
                case "--seed": seed = Number<long>("--seed"); break;
                default: throw new UsageException($"unknown option '{args[i]}' (expected --checkpoint, --prompt, --max-new-tokens, --temperature, --top-k, --seed, --tokenizer)");
            }
        }
        if (checkpoint == null || prompt == null) throw new UsageException("--checkpoint and --prompt are required");
        if (maxNew < 0 || temperature < 0 || topK < 0) throw new UsageException("--max-new-tokens, --temperature and --top-k must not be negative");
        var info = CheckpointModel.Open(checkpoint);
        var tokenizer = info.Tokenizer(tokenizerPath);
        var ids = new List<int> { tokenizer.BosId };
        ids.AddRange(tokenizer.Encode(prompt));
        using var model = info.LoadTransformer(TextGenerator.ContextLength(info, ids.Count, maxNew));
        ComputeDevice.Place(model, ComputeDevice.Choose(info.Config.Training.Device));
        var output = TextGenerator.Generate(model, ids, maxNew, new SamplingOptions(temperature, topK, seed, tokenizer.EosId));
        Console.WriteLine(prompt + tokenizer.Decode(output.Where(t => t != tokenizer.EosId)));
        return 0;
    }
}
