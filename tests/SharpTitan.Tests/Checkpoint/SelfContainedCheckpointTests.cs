using SharpTitan.Checkpoint;
using SharpTitan.Data;
using SharpTitan.Tests.Support;
using SharpTitan.Training;

namespace SharpTitan.Tests.Checkpoint;

/// <summary>Issue 20: a step folder carries its tokenizer, so `generate` and `convert` need nothing else.</summary>
public class SelfContainedCheckpointTests
{
    public SelfContainedCheckpointTests() => TestSetup.Torch();

    /// <summary>Trains 2 steps with a copy of the byte tokenizer in its own folder; returns the dump and that folder.</summary>
    private static (string Dump, string TokenizerFolder) Train()
    {
        var dump = TestSetup.TempDir("self-contained");
        var tokenizers = Path.Combine(dump, "tokenizers");
        Directory.CreateDirectory(tokenizers);
        var tokenizer = Path.Combine(tokenizers, "byte_tokenizer.json");
        File.Copy(Path.Combine(TestSetup.RepoRoot, "assets", "tokenizer", "byte_tokenizer.json"), tokenizer);
        using (var t = new Trainer(TinyConfig.Create(steps: 2, overrides: ["--checkpoint.enable", "--job.dump_folder", dump,
                   "--model.tokenizer_path", tokenizer]), TextWriter.Null)) t.Run();
        return (dump, tokenizers);
    }

    [Fact]
    public void GenerateAndConvertWorkAfterTheOriginalTokenizerIsDeleted()
    {
        var (dump, tokenizers) = Train();
        var step = Path.Combine(dump, "checkpoint", "step-2");
        var meta = CheckpointMetadata.Read(Path.Combine(step, CheckpointMetadata.FileName));
        Assert.Equal("tokenizer/byte_tokenizer.json", meta.Tokenizer);
        Assert.Contains(meta.Files, f => f.Name == meta.Tokenizer && f.Bytes > 0 && f.Sha256.Length == 64);
        Directory.Delete(tokenizers, recursive: true);

        var generated = InProcessCli.Run("generate", "--checkpoint", Path.Combine(dump, "checkpoint"), "--prompt", "Hi", "--max-new-tokens", "3",
            "--temperature", "0");
        Assert.True(generated.Code == 0, generated.Err);
        Assert.StartsWith("Hi", generated.Out);
        var hf = Path.Combine(dump, "hf");
        var converted = InProcessCli.Run("convert", "--to", "hf", step, hf);
        Assert.True(converted.Code == 0, converted.Err);
        Assert.True(File.Exists(Path.Combine(hf, "tokenizer.json")));
    }

    [Fact]
    public void AnAlteredCarriedTokenizerIsRefusedNamingTheFile()
    {
        var (dump, _) = Train();
        var step = Path.Combine(dump, "checkpoint", "step-2");
        var carried = Path.Combine(step, "tokenizer", "byte_tokenizer.json");
        File.AppendAllText(carried, " ");
        var e = Assert.Throws<InvalidDataException>(() => CheckpointModel.Open(step));
        Assert.Contains(carried, e.Message);
        Assert.Contains("checksum", e.Message);
    }

    /// <summary>A checkpoint written before tokenizers were carried: no "tokenizer" in its metadata, no tokenizer/ folder.</summary>
    [Fact]
    public void AnOldCheckpointWithoutATokenizerStillLoadsFromTheConfigsTokenizerPath()
    {
        var (dump, _) = Train();
        var step = Path.Combine(dump, "checkpoint", "step-2");
        var path = Path.Combine(step, CheckpointMetadata.FileName);
        var meta = CheckpointMetadata.Read(path);
        File.WriteAllText(path, (meta with { Tokenizer = null, Files = meta.Files.Where(f => !f.Name.StartsWith("tokenizer/")).ToList() }).ToJson());
        Directory.Delete(Path.Combine(step, "tokenizer"), recursive: true);
        Assert.DoesNotContain("\"tokenizer\"", File.ReadAllText(path));

        var model = CheckpointModel.Open(step);
        Assert.Null(model.TokenizerFile);
        Assert.Equal(model.Config.Model.TokenizerPath, model.TokenizerPath());
        Assert.IsType<ByteTokenizer>(model.Tokenizer());
        var generated = InProcessCli.Run("generate", "--checkpoint", step, "--prompt", "Hi", "--max-new-tokens", "2", "--temperature", "0");
        Assert.True(generated.Code == 0, generated.Err);
    }
}
