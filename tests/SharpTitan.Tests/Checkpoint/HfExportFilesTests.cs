using System.Text.Json.Nodes;
using SharpTitan.Checkpoint;
using SharpTitan.Checkpoint.HuggingFace;
using SharpTitan.Data;
using SharpTitan.Models.Llama3;
using SharpTitan.Tests.Data;
using SharpTitan.Tests.Support;
using SharpTitan.Training;

namespace SharpTitan.Tests.Checkpoint;

/// <summary>Issue 20: a Hugging Face export is complete (config.json, generation_config.json, tokenizer) and reads back.</summary>
public class HfExportFilesTests
{
    public HfExportFilesTests() => TestSetup.Torch();

    private static JsonObject Json(string folder, string name) => JsonNode.Parse(File.ReadAllText(Path.Combine(folder, name)))!.AsObject();

    [Fact]
    public void ExportWritesConfigGenerationConfigAndTokenizerThatImportReadsBack()
    {
        var dump = TestSetup.TempDir("hf-files");
        using (var t = new Trainer(TinyConfig.Create(steps: 1, overrides: ["--checkpoint.enable", "--job.dump_folder", dump]), TextWriter.Null)) t.Run();
        var hf = Path.Combine(dump, "hf");
        var converted = InProcessCli.Run("convert", "--to", "hf", Path.Combine(dump, "checkpoint", "step-1"), hf, "--dtype", "bfloat16");
        Assert.True(converted.Code == 0, converted.Err);

        var args = ModelFlavors.Llama3["tiny"];
        var config = Json(hf, "config.json");
        Assert.Equal("LlamaForCausalLM", (string)config["architectures"]![0]!);
        Assert.Equal(args.RopeTheta, (double)config["rope_theta"]!);
        Assert.Equal(args.NormEps, (double)config["rms_norm_eps"]!);
        Assert.Equal(args.TieEmbeddings, (bool)config["tie_word_embeddings"]!);
        Assert.Equal("bfloat16", (string)config["torch_dtype"]!);
        Assert.Equal(32, (int)config["max_position_embeddings"]!);
        Assert.Equal("llama3", (string)config["rope_scaling"]!["rope_type"]!);
        Assert.Equal(259, (int)config["vocab_size"]!);
        Assert.Equal((256, 257, 258), ((int)config["bos_token_id"]!, (int)config["eos_token_id"]!, (int)config["pad_token_id"]!));
        var generation = Json(hf, "generation_config.json");
        Assert.Equal((256, 257), ((int)generation["bos_token_id"]!, (int)generation["eos_token_id"]!));
        var tokenizerConfig = Json(hf, HfTokenizerConfig.FileName);
        Assert.Equal(("<|begin_of_text|>", "<|end_of_text|>", "<|pad|>"),
            ((string)tokenizerConfig["bos_token"]!, (string)tokenizerConfig["eos_token"]!, (string)tokenizerConfig["pad_token"]!));
        Assert.Equal(32, (int)tokenizerConfig["model_max_length"]!);

        // The byte tokenizer as tokenizer.json encodes as the byte tokenizer does, with the same special ids.
        var exported = TokenizerLoader.Load(hf);
        var bytes = new ByteTokenizer();
        Assert.Equal(bytes.Specials, exported.Specials);
        Assert.Equal(bytes.VocabSize, exported.VocabSize);
        foreach (var text in TokenizerTests.Texts) Assert.Equal(bytes.Encode(text), exported.Encode(text));

        // Import without naming a tokenizer: the folder's own, carried into the checkpoint.
        var back = Path.Combine(dump, "back");
        var imported = InProcessCli.Run("convert", "--from", "hf", hf, back, "--model.flavor", "tiny", "--training.seq_len", "32");
        Assert.True(imported.Code == 0, imported.Err);
        var model = CheckpointModel.Open(Path.Combine(back, "step-0"));
        Assert.Equal(Path.Combine(back, "step-0", "tokenizer", "tokenizer.json"), model.TokenizerFile);
        Assert.True(File.Exists(Path.Combine(back, "step-0", "tokenizer", HfTokenizerConfig.FileName)));
        Assert.Equal(bytes.Specials, model.Tokenizer().Specials);
        Assert.Equal(259, model.Args.VocabSize);
    }

    [Fact]
    public void ATiktokenFileIsExportedAsTokenizerModelWithItsSpecialTokensNamed()
    {
        using var dir = new TempDir();
        var source = TestSetup.SharedPath("tokenizers", "test_tiktoken.model");
        var tokenizer = TokenizerLoader.Load(source);
        var files = HfTokenizerFiles.Write(dir.Path, source, tokenizer, 2048);
        Assert.Equal([HfTokenizerFiles.Tiktoken, HfTokenizerConfig.FileName], files);
        Assert.Equal(File.ReadAllBytes(source), File.ReadAllBytes(dir.File("tokenizer.model")));
        var config = Json(dir.Path, HfTokenizerConfig.FileName);
        Assert.Equal(("<|begin_of_text|>", "<|end_of_text|>", 2048),
            ((string)config["bos_token"]!, (string)config["eos_token"]!, (int)config["model_max_length"]!));
        var back = TokenizerLoader.Load(dir.Path); // a folder: its tokenizer.model
        Assert.Equal((2000, 2001, tokenizer.VocabSize), (back.BosId, back.EosId, back.VocabSize));
    }

    [Fact]
    public void AHuggingFaceTokenizerKeepsItsTokenizerConfigWithTheSpecialsAndLengthSet()
    {
        using var source = new TempDir();
        using var output = new TempDir();
        var path = HuggingFaceBpeTests.Write(source, llamaStyle: true, arrayMerges: false);
        File.WriteAllText(source.File(HfTokenizerConfig.FileName), """{"chat_template": "T", "model_max_length": 5}""");
        var tokenizer = TokenizerLoader.Load(path);
        HfTokenizerFiles.Write(output.Path, path, tokenizer, 64);
        Assert.Equal(File.ReadAllText(path), File.ReadAllText(output.File("tokenizer.json")));
        var config = Json(output.Path, HfTokenizerConfig.FileName);
        Assert.Equal(("T", "<|begin_of_text|>", "<|end_of_text|>", 64),
            ((string)config["chat_template"]!, (string)config["bos_token"]!, (string)config["eos_token"]!, (int)config["model_max_length"]!));
        Assert.Equal(tokenizer.Specials, TokenizerLoader.Load(output.Path).Specials);
    }
}
