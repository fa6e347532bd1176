using SharpTitan.Native;
using SharpTitan.Config;
using SharpTitan.Data;
using SharpTitan.Distributed;
using SharpTitan.Metrics;
using System.Text.Json;
using System.Text.Json.Nodes;
using SharpTitan.Models.Llama3;
using static TorchSharp.torch;

namespace SharpTitan.Checkpoint.HuggingFace;

/// <summary>
/// Writes and reads a Hugging Face Llama folder: config.json, generation_config.json, the tokenizer files
/// (<see cref="HfTokenizerFiles"/>) and model.safetensors, or above <c>maxShardBytes</c>
/// model-0000K-of-0000N.safetensors with model.safetensors.index.json.
/// </summary>
public static class HfCheckpoint
{
    public const string IndexFile = "model.safetensors.index.json", SingleFile = "model.safetensors";
    public const long DefaultMaxShardBytes = 5_000_000_000;

    /// <summary>Exports torchtitan-named full tensors with the tokenizer <paramref name="tokenizerPath"/> names; returns the files written.</summary>
    public static List<string> Export(IReadOnlyDictionary<string, Tensor> tensors, ModelArgs args, string tokenizerPath, string folder,
        ScalarType dtype, long maxShardBytes = DefaultMaxShardBytes)
    {
        var tokenizer = TokenizerLoader.Load(tokenizerPath);
        Directory.CreateDirectory(folder);
        using var scope = NewDisposeScope();
        var converted = new List<(string Name, Tensor Value)>();
        foreach (var (name, value) in tensors.OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            int heads = HfLlama.RotaryHeads(name, args);
            var v = value.to(dtype);
            converted.Add((HfLlama.ToHf(name), heads > 0 ? HfLlama.ToHfRotary(v, heads) : v));
        }
        // Greedy split into files of at most maxShardBytes (a larger single tensor gets a file of its own).
        var shards = new List<List<(string, Tensor)>> { new() };
        long size = 0, total = 0;
        foreach (var t in converted)
        {
            long bytes = t.Value.numel() * Dtypes.Size(dtype);
            if (size > 0 && size + bytes > maxShardBytes) { shards.Add([]); size = 0; }
            shards[^1].Add(t);
            size += bytes;
            total += bytes;
        }
        var written = new List<string>();
        var meta = new Dictionary<string, string> { ["format"] = "pt" };
        var progress = ProgressBar.ForConsole($"export {Path.GetFileName(Path.GetFullPath(folder))}", total);
        if (shards.Count == 1)
        {
            Safetensors.Write(Path.Combine(folder, SingleFile), shards[0], meta, progress);
            written.Add(SingleFile);
        }
        else
        {
            var map = new JsonObject();
            for (int i = 0; i < shards.Count; i++)
            {
                var file = $"model-{i + 1:D5}-of-{shards.Count:D5}.safetensors";
                Safetensors.Write(Path.Combine(folder, file), shards[i], meta, progress);
                foreach (var (n, _) in shards[i]) map[n] = file;
                written.Add(file);
            }
            var index = new JsonObject { ["metadata"] = new JsonObject { ["total_size"] = total }, ["weight_map"] = map };
            File.WriteAllText(Path.Combine(folder, IndexFile), index.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            written.Add(IndexFile);
        }
        progress.Finish();
        WriteJson(folder, "config.json", HfLlama.Config(args, dtype, tokenizer.Specials), written);
        WriteJson(folder, "generation_config.json", HfLlama.GenerationConfig(tokenizer.Specials), written);
        written.AddRange(HfTokenizerFiles.Write(folder, tokenizerPath, tokenizer, args.MaxSeqLen));
        return written;
    }

    private static void WriteJson(string folder, string name, JsonObject json, List<string> written)
    {
        File.WriteAllText(Path.Combine(folder, name), json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        written.Add(name);
    }

    /// <summary>Reads a Hugging Face Llama folder as torchtitan-named tensors (wq/wk back in the interleaved layout).</summary>
    public static Dictionary<string, Tensor> Import(string folder, ModelArgs args)
    {
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"Hugging Face model folder {folder} does not exist");
        HfLlama.CheckConfig(Path.Combine(folder, "config.json"), args);
        List<string> files;
        var index = Path.Combine(folder, IndexFile);
        if (File.Exists(index))
        {
            var map = JsonNode.Parse(File.ReadAllText(index))?["weight_map"]?.AsObject()
                      ?? throw new InvalidDataException($"{index}: no weight_map");
            files = map.Select(kv => (string)kv.Value!).Distinct().Order().ToList();
        }
        else if (File.Exists(Path.Combine(folder, SingleFile))) files = [SingleFile];
        else throw new FileNotFoundException($"{folder} holds neither {SingleFile} nor {IndexFile}");
        var result = new Dictionary<string, Tensor>();
        try
        {
            foreach (var file in files)
            {
                var read = Safetensors.Read(Path.Combine(folder, file));
                foreach (var (hfName, value) in read)
                {
                    var name = HfLlama.FromHf(hfName);
                    if (name == null) { value.Dispose(); continue; } // e.g. rotary inv_freq buffers of old exports
                    int heads = HfLlama.RotaryHeads(name, args);
                    if (heads > 0 && value.dim() == 2 && value.shape[0] % (2L * heads) == 0)
                    {
                        result[name] = HfLlama.FromHfRotary(value, heads).contiguous();
                        value.Dispose();
                    }
                    else result[name] = value;
                }
            }
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
        return result;
    }

    /// <summary>
    /// A checkpoint's model as a Hugging Face Llama folder; returns the files written and the number of tensors. A folder
    /// that holds files is refused (IOException) unless <paramref name="overwrite"/>; with it, the new export is written
    /// beside the folder and swapped in whole, so no file of an earlier export (an old index or shard) remains.
    /// </summary>
    public static (List<string> Files, int Tensors) ExportCheckpoint(CheckpointModel model, string folder, ScalarType dtype,
        long maxShardBytes = DefaultMaxShardBytes, bool overwrite = false)
    {
        using var scope = NewDisposeScope();
        var tensors = CheckpointReader.ReadModel(model.StepFolder);
        try { return (FolderReplacement.Write(folder, overwrite, temp => Export(tensors, model.Args, model.TokenizerPath(), temp, dtype, maxShardBytes)), tensors.Count); }
        finally { foreach (var t in tensors.Values) t.Dispose(); }
    }

    /// <summary>True when <paramref name="folder"/> exists and holds anything (an export into it needs overwrite).</summary>
    public static bool HoldsFiles(string folder) => FolderReplacement.HoldsFiles(folder);

    /// <summary>
    /// A Hugging Face Llama folder as a model-only checkpoint <paramref name="output"/>/step-0 (for
    /// checkpoint.initial_load_path) of the model <paramref name="config"/> names (flavor, the tokenizer's vocabulary,
    /// training.seq_len), which it also stores as its config.toml, with the tokenizer. When the config names no
    /// tokenizer (neither tokenizer_path nor hf_assets_path) and the folder holds one, the folder is its
    /// model.hf_assets_path. Returns the step folder and the number of tensors.
    /// </summary>
    public static (string StepFolder, int Tensors) ImportAsCheckpoint(string hfFolder, JobConfig config, string output)
    {
        if (config.Model is { TokenizerPath: null, HfAssetsPath: null } && ModelAssets.TokenizerIn(hfFolder) != null)
            config.Model.HfAssetsPath = Path.GetFullPath(hfFolder);
        var tokenizer = TokenizerLoader.Load(ModelAssets.TokenizerPath(config.Model));
        if (!ModelFlavors.Llama3.TryGetValue(config.Model.Flavor, out var flavor)) throw new ConfigException($"model.flavor \"{config.Model.Flavor}\" is not a known flavor");
        var args = flavor with { VocabSize = tokenizer.VocabSize, MaxSeqLen = config.Training.SeqLen };
        using var scope = NewDisposeScope();
        var tensors = Import(hfFolder, args);
        CheckpointReader.CheckMatch($"Hugging Face model {hfFolder}", tensors.ToDictionary(t => TrainingState.Model + t.Key, t => t.Value.shape),
            TrainingState.ParameterShapes(args).ToDictionary(t => TrainingState.Model + t.Key, t => t.Value), [TrainingState.Model]);
        var world = new SingleProcessGroup();
        var writer = new CheckpointWriter(output, world, keepLatestK: 0);
        Directory.CreateDirectory(output);
        var data = tensors.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t =>
        {
            var piece = TrainingState.Whole(TrainingState.Model + t.Key, t.Value);
            return (piece, piece.Slice());
        }).ToList();
        var final = writer.Save(new SaveInfo(0, ModelOnly: true, 0, null, ConfigPrinter.ToToml(config), CheckpointTokenizer.Read(config.Model)), data);
        return (final!, tensors.Count);
    }
}
