using SharpTitan.Config;
using SharpTitan.Data;

namespace SharpTitan.Checkpoint;

/// <summary>A file a step folder carries besides tensors: its name in the folder and its bytes.</summary>
internal sealed record CarriedFile(string Name, byte[] Bytes);

/// <summary>
/// The tokenizer a step folder carries, so `generate` and `convert` need nothing else: tokenizer/NAME, the file the run
/// trained with (read when the run starts), and beside a Hugging Face tokenizer.json its tokenizer_config.json. They are
/// listed and checksummed in metadata.json like the shards; its "tokenizer" names the tokenizer file. cl100k_base is
/// built in and carries no file.
/// </summary>
internal static class CheckpointTokenizer
{
    public const string Folder = "tokenizer";

    /// <summary>The tokenizer files of <paramref name="model"/>, the tokenizer first (none for cl100k_base).</summary>
    public static IReadOnlyList<CarriedFile> Read(ModelSection model)
    {
        var path = TokenizerLoader.Resolve(ModelAssets.TokenizerPath(model));
        if (path == Cl100kBase.Name) return [];
        var sources = new List<string> { path };
        var config = HfTokenizerConfig.Beside(path);
        if (path.EndsWith(".json", StringComparison.OrdinalIgnoreCase) && File.Exists(config)) sources.Add(config);
        return sources.Select(s => new CarriedFile($"{Folder}/{Path.GetFileName(s)}", File.ReadAllBytes(s))).ToList();
    }

    /// <summary>Writes the files into the step folder being saved; returns their entries, the tokenizer's first.</summary>
    public static List<FileEntry> Write(string temp, IReadOnlyList<CarriedFile> files)
    {
        if (files.Count > 0) Directory.CreateDirectory(Path.Combine(temp, Folder));
        return files.Select(f => ShardFile.WriteBytes(Path.Combine(temp, f.Name), f.Bytes, f.Name)).ToList();
    }

    /// <summary>
    /// The tokenizer file in a step folder, after checking every carried file's size and SHA-256; null for a
    /// checkpoint written before tokenizers were carried (or with cl100k_base).
    /// </summary>
    public static string? Find(string stepFolder, CheckpointMetadata meta)
    {
        if (meta.Tokenizer is not { } name) return null;
        if (!name.StartsWith(Folder + "/", StringComparison.Ordinal) || name.Contains("..") || meta.Files.All(f => f.Name != name))
            throw new InvalidDataException($"{Path.Combine(stepFolder, CheckpointMetadata.FileName)}: tokenizer \"{name}\" is not a file the checkpoint lists under {Folder}/");
        foreach (var f in meta.Files.Where(f => f.Name.StartsWith(Folder + "/", StringComparison.Ordinal)))
            ShardFile.Verify(Path.Combine(stepFolder, f.Name), f);
        return Path.Combine(stepFolder, meta.Tokenizer);
    }
}
