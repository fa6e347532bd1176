namespace SharpTitan.Config;

/// <summary>[model]: the model family, flavor, tokenizer and converters.</summary>
public sealed class ModelSection
{
    [Doc("The model family.")]
    public ModelName Name { get; set; } = ModelName.Llama3;
    [Doc("The model size: debugmodel, 1B, 3B, 8B, 70B, 405B (and tiny, a test-size model).")]
    public string Flavor { get; set; } = "debugmodel";
    /// <summary>A tokenizer file: the project's byte-level JSON, a tiktoken model, or a Hugging Face tokenizer.json.</summary>
    [Doc("The tokenizer: the byte-level JSON, a tiktoken model, a Hugging Face tokenizer.json, or cl100k_base; the vocabulary size follows it.")]
    public string TokenizerPath { get; set; } = "./assets/tokenizer/byte_tokenizer.json";
    /// <summary>Model converters applied after building the model, e.g. "float8".</summary>
    [Doc("Converters applied to the model after it is built, e.g. [\"float8\"].")]
    public ModelConverter[] Converters { get; set; } = [];
    [Doc("Log the model's modules after the converters are applied.")]
    public bool PrintAfterConversion { get; set; }
}
