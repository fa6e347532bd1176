using SharpTitan.Native;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using SharpTitan.Data;
using SharpTitan.Models.Llama3;
using static TorchSharp.torch;

namespace SharpTitan.Checkpoint.HuggingFace;

/// <summary>
/// Hugging Face's Llama layout: parameter names (model.embed_tokens.weight, model.layers.N.self_attn.q_proj.weight,
/// ..., lm_head.weight) and its rotary convention. Meta/torchtitan rotate interleaved pairs (x[2i], x[2i+1]) of
/// each head; Hugging Face rotates halves (x[i], x[i + head_dim/2]). Permuting the rows of wq and wk per head
/// (pair element j of pair i goes to row j x head_dim/2 + i) makes the two compute the same attention.
/// </summary>
internal static partial class HfLlama
{
    private static readonly (string Ours, string Hf)[] BlockNames =
    [
        ("attention.wq.weight", "self_attn.q_proj.weight"), ("attention.wk.weight", "self_attn.k_proj.weight"),
        ("attention.wv.weight", "self_attn.v_proj.weight"), ("attention.wo.weight", "self_attn.o_proj.weight"),
        ("feed_forward.w1.weight", "mlp.gate_proj.weight"), ("feed_forward.w2.weight", "mlp.down_proj.weight"),
        ("feed_forward.w3.weight", "mlp.up_proj.weight"), ("attention_norm.weight", "input_layernorm.weight"),
        ("ffn_norm.weight", "post_attention_layernorm.weight"),
    ];

    private static readonly (string Ours, string Hf)[] TopNames =
        [("tok_embeddings.weight", "model.embed_tokens.weight"), ("norm.weight", "model.norm.weight"), ("output.weight", "lm_head.weight")];

    [GeneratedRegex(@"^layers\.(\d+)\.(.+)$")] private static partial Regex OurBlock();
    [GeneratedRegex(@"^model\.layers\.(\d+)\.(.+)$")] private static partial Regex HfBlock();

    /// <summary>The Hugging Face name of a torchtitan parameter name.</summary>
    public static string ToHf(string name)
    {
        foreach (var (o, h) in TopNames) if (name == o) return h;
        var m = OurBlock().Match(name);
        if (m.Success) foreach (var (o, h) in BlockNames) if (m.Groups[2].Value == o) return $"model.layers.{m.Groups[1].Value}.{h}";
        throw new InvalidDataException($"parameter {name} has no Hugging Face Llama name");
    }

    /// <summary>The torchtitan name of a Hugging Face Llama parameter name, or null for names Llama does not use.</summary>
    public static string? FromHf(string name)
    {
        foreach (var (o, h) in TopNames) if (name == h) return o;
        var m = HfBlock().Match(name);
        if (m.Success) foreach (var (o, h) in BlockNames) if (m.Groups[2].Value == h) return $"layers.{m.Groups[1].Value}.{o}";
        return null;
    }

    /// <summary>wq/wk rows from interleaved rotary pairs to Hugging Face's half split (per head).</summary>
    public static Tensor ToHfRotary(Tensor w, int heads)
    {
        long rows = w.shape[0], cols = w.shape[1], half = rows / heads / 2;
        return w.view(heads, half, 2, cols).transpose(1, 2).reshape(rows, cols);
    }

    /// <summary>The inverse of <see cref="ToHfRotary"/>.</summary>
    public static Tensor FromHfRotary(Tensor w, int heads)
    {
        long rows = w.shape[0], cols = w.shape[1], half = rows / heads / 2;
        return w.view(heads, 2, half, cols).transpose(1, 2).reshape(rows, cols);
    }

    /// <summary>How many heads a weight's rows hold, when it is wq (query heads) or wk (key/value heads); else 0.</summary>
    public static int RotaryHeads(string ourName, ModelArgs args) =>
        ourName.EndsWith("attention.wq.weight") ? args.NHeads : ourName.EndsWith("attention.wk.weight") ? args.KvHeads : 0;

    /// <summary>
    /// config.json of LlamaForCausalLM for these model args and special tokens: what transformers needs to build the
    /// model as trained (rope_scaling only when the RoPE frequencies are scaled).
    /// </summary>
    public static JsonObject Config(ModelArgs a, ScalarType dtype, SpecialTokens specials)
    {
        var c = new JsonObject
        {
            ["architectures"] = new JsonArray("LlamaForCausalLM"),
            ["model_type"] = "llama",
            ["hidden_size"] = a.Dim,
            ["intermediate_size"] = a.FfnHiddenDim,
            ["num_hidden_layers"] = a.NLayers,
            ["num_attention_heads"] = a.NHeads,
            ["num_key_value_heads"] = a.KvHeads,
            ["head_dim"] = a.HeadDim,
            ["vocab_size"] = a.VocabSize,
            ["rms_norm_eps"] = a.NormEps,
            ["rope_theta"] = a.RopeTheta,
            ["rope_scaling"] = a.RopeScalingFactor > 1 ? new JsonObject
            {
                ["rope_type"] = "llama3", ["factor"] = a.RopeScalingFactor, ["low_freq_factor"] = a.RopeLowFreqFactor,
                ["high_freq_factor"] = a.RopeHighFreqFactor, ["original_max_position_embeddings"] = a.RopeOriginalMaxPositions,
            } : null,
            ["max_position_embeddings"] = a.MaxSeqLen,
            ["tie_word_embeddings"] = a.TieEmbeddings,
            ["hidden_act"] = "silu",
            ["attention_bias"] = false,
            ["attention_dropout"] = 0.0,
            ["mlp_bias"] = false,
            ["torch_dtype"] = Dtypes.Name(dtype),
            ["use_cache"] = true,
        };
        foreach (var (key, value) in TokenIds(specials)) c[key] = value;
        return c;
    }

    /// <summary>generation_config.json: the special token ids generation starts and stops with.</summary>
    public static JsonObject GenerationConfig(SpecialTokens specials)
    {
        var c = new JsonObject { ["_from_model_config"] = true };
        foreach (var (key, value) in TokenIds(specials)) c[key] = value;
        return c;
    }

    private static IEnumerable<(string Key, int Value)> TokenIds(SpecialTokens s) =>
        new (string, int?)[] { ("bos_token_id", s.BosId), ("eos_token_id", s.EosId), ("pad_token_id", s.PadId) }
            .Where(t => t.Item2 != null).Select(t => (t.Item1, t.Item2!.Value));

    /// <summary>Checks that a Hugging Face config.json describes the same shape as these args; names every difference.</summary>
    public static void CheckConfig(string path, ModelArgs a)
    {
        if (!File.Exists(path)) return; // the tensors' shapes are checked anyway
        JsonObject c;
        try { c = JsonNode.Parse(File.ReadAllText(path))!.AsObject(); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not JSON ({e.Message})"); }
        var wanted = new (string Key, double Value)[]
        {
            ("hidden_size", a.Dim), ("intermediate_size", a.FfnHiddenDim), ("num_hidden_layers", a.NLayers),
            ("num_attention_heads", a.NHeads), ("num_key_value_heads", a.KvHeads), ("vocab_size", a.VocabSize),
        };
        var diffs = wanted.Where(w => c[w.Key] is { } v && v.GetValue<double>() != w.Value)
            .Select(w => $"{w.Key} = {c[w.Key]} (this model: {w.Value})").ToList();
        if (diffs.Count > 0) throw new InvalidDataException($"{path} describes another model: {string.Join(", ", diffs)}");
    }
}
