namespace SharpTitan.Config;

/// <summary>[model]: the model family, flavor, tokenizer and converters.</summary>
public sealed class ModelSection
{
    [Doc("The model family.")]
    public ModelName Name { get; set; } = ModelName.Llama3;
    [Doc("The model size: debugmodel, 1B, 3B, 8B, 70B, 405B (and tiny, a test-size model).")]
    public string Flavor { get; set; } = "debugmodel";
    /// <summary>A tokenizer file: the project's byte-level JSON, a tiktoken model, or a Hugging Face tokenizer.json.</summary>
    [Doc("The tokenizer: the byte-level JSON, a tiktoken model, a Hugging Face tokenizer.json, or cl100k_base; unset = the one in hf_assets_path, else the byte-level debug tokenizer; the vocabulary size follows it.")]
    public string? TokenizerPath { get; set; }
    /// <summary>torchtitan's folder of a model's Hugging Face assets (tokenizer.json, tokenizer_config.json, weights).</summary>
    [Doc("A folder of Hugging Face assets (tokenizer.json or tokenizer.model, tokenizer_config.json, weights); its tokenizer is used when tokenizer_path is unset.")]
    public string? HfAssetsPath { get; set; }
    [Doc("How the RMSNorms run: fused_rmsnorm (same forward, own backward keeping only the input and one number per row) or rmsnorm (plain operations under autograd).")]
    public NormType NormType { get; set; } = NormType.FusedRmsNorm;
    /// <summary>Model converters applied after building the model, e.g. "float8".</summary>
    [Doc("Converters applied to the model after it is built, e.g. [\"float8\"].")]
    public ModelConverter[] Converters { get; set; } = [];
    [Doc("Log the model's modules after the converters are applied.")]
    public bool PrintAfterConversion { get; set; }
}
