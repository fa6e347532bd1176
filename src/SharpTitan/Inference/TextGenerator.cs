using SharpTitan.Checkpoint;
using SharpTitan.Config;
using SharpTitan.Models.Llama3;
using static TorchSharp.torch;

namespace SharpTitan.Inference;

/// <summary>
/// Autoregressive sampling from a model, one token at a time. There is no KV cache: each step runs the whole
/// context (the last max_seq_len tokens), which is simple and fast enough for the models a CPU trains.
/// </summary>
public static class TextGenerator
{
    /// <summary>
    /// The sequence length to build a checkpoint's model with for generation (its rotary tables are that long): the
    /// prompt plus the new tokens, at least the trained seq_len. Checked before anything is allocated against the
    /// flavor's context, its max_seq_len (the positions its rotary embedding is made for); past it, a one-line
    /// ConfigException says how many new tokens fit.
    /// </summary>
    public static int ContextLength(CheckpointModel model, int promptTokens, int maxNewTokens)
    {
        string flavor = model.Config.Model.Flavor;
        int limit = ModelFlavors.Llama3.TryGetValue(flavor, out var args) ? args.MaxSeqLen : model.Args.MaxSeqLen;
        return ContextLength(promptTokens, maxNewTokens, model.Args.MaxSeqLen, limit, $"max_seq_len of model.flavor \"{flavor}\"");
    }

    /// <summary>max(trained, prompt + new tokens), or a ConfigException when that passes <paramref name="limit"/>.</summary>
    public static int ContextLength(int promptTokens, int maxNewTokens, int trainedSeqLen, int limit, string limitName = "max_seq_len")
    {
        if (promptTokens <= 0) throw new ConfigException("the prompt has no tokens");
        if (maxNewTokens < 0) throw new ConfigException($"max new tokens must not be negative (got {maxNewTokens})");
        long needed = (long)promptTokens + maxNewTokens;
        if (promptTokens >= limit)
            throw new ConfigException($"the prompt is {promptTokens:N0} tokens, as long as the model's context of {limit:N0} tokens ({limitName}) or longer: shorten it");
        if (needed > limit)
            throw new ConfigException($"a prompt of {promptTokens:N0} tokens plus {maxNewTokens:N0} new tokens needs {needed:N0} positions, past the model's " +
                                      $"context of {limit:N0} ({limitName}): ask for at most {limit - promptTokens:N0} new tokens");
        return (int)Math.Max(trainedSeqLen, needed);
    }

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
            var device = model.tok_embeddings.weight!.device;
            // sampled on the host with a host generator, so a seed gives the same text on every device
            var logits = model.forward(tensor(context, [1, context.Length]).to(device))[0, -1].to(ScalarType.Float32).cpu();
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
