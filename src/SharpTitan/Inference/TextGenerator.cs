using SharpTitan.Models.Llama3;
using static TorchSharp.torch;

namespace SharpTitan.Inference;

/// <summary>Sampling settings: temperature 0 is greedy (argmax); top-k 0 keeps the whole vocabulary.</summary>
public sealed record SamplingOptions(double Temperature = 1.0, int TopK = 0, long Seed = 0, int? EosId = null);

/// <summary>
/// Autoregressive sampling from a model, one token at a time. There is no KV cache: each step runs the whole
/// context (the last max_seq_len tokens), which is simple and fast enough for the models a CPU trains.
/// </summary>
public static class TextGenerator
{
    public static List<int> Generate(Transformer model, IReadOnlyList<int> prompt, int maxNewTokens, SamplingOptions options)
    {
        if (prompt.Count == 0) throw new ArgumentException("the prompt has no tokens");
        var tokens = prompt.ToList();
        var generator = new Generator((ulong)options.Seed);
        using var _ = no_grad();
        for (int i = 0; i < maxNewTokens; i++)
        {
            using var scope = NewDisposeScope();
            var context = tokens.Skip(Math.Max(0, tokens.Count - model.Args.MaxSeqLen)).Select(t => (long)t).ToArray();
            var logits = model.forward(tensor(context, [1, context.Length]))[0, -1].to(ScalarType.Float32);
            int next = Pick(logits, options, generator);
            tokens.Add(next);
            if (next == options.EosId) break;
        }
        generator.Dispose();
        return tokens.Skip(prompt.Count).ToList();
    }

    /// <summary>One token id from last-position logits [vocab].</summary>
    public static int Pick(Tensor logits, SamplingOptions options, Generator generator)
    {
        if (options.Temperature <= 0) return (int)logits.argmax().item<long>();
        var scaled = logits / options.Temperature;
        if (options.TopK > 0 && options.TopK < scaled.shape[0])
        {
            var kth = scaled.topk(options.TopK).values[-1];
            scaled = scaled.masked_fill(scaled < kth, double.NegativeInfinity);
        }
        var probs = scaled.softmax(0);
        return (int)multinomial(probs, 1, generator: generator).item<long>();
    }
}
