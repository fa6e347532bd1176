namespace SharpTitan.Config;

/// <summary>
/// Where a model's tokenizer is: model.tokenizer_path when set; else the tokenizer in model.hf_assets_path (torchtitan's
/// folder of Hugging Face assets: tokenizer.json, else tokenizer.model or original/tokenizer.model); else the
/// byte-level debug tokenizer. Relative paths not found under the working folder are looked for beside the program
/// (<see cref="ProjectAssets"/>).
/// </summary>
public static class ModelAssets
{
    public const string DefaultTokenizer = "./assets/tokenizer/byte_tokenizer.json";

    /// <summary>The tokenizer files looked for in model.hf_assets_path, in order.</summary>
    public static IReadOnlyList<string> TokenizerFiles { get; } = ["tokenizer.json", "tokenizer.model", Path.Combine("original", "tokenizer.model")];

    /// <exception cref="DirectoryNotFoundException">hf_assets_path names no folder.</exception>
    /// <exception cref="FileNotFoundException">The folder holds none of <see cref="TokenizerFiles"/>.</exception>
    public static string TokenizerPath(ModelSection model)
    {
        if (model.TokenizerPath != null) return ProjectAssets.Resolve(model.TokenizerPath);
        if (model.HfAssetsPath is not { } folder) return ProjectAssets.Resolve(DefaultTokenizer);
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"model.hf_assets_path: folder not found: {folder}");
        return TokenizerIn(folder) ?? throw new FileNotFoundException(
            $"model.hf_assets_path: no tokenizer in {folder} (looked for {string.Join(", ", TokenizerFiles)}); set model.tokenizer_path");
    }

    /// <summary>The first of <see cref="TokenizerFiles"/> in a folder of Hugging Face assets, or null.</summary>
    public static string? TokenizerIn(string folder) =>
        TokenizerFiles.Select(f => Path.Combine(folder, f)).FirstOrDefault(File.Exists);
}
