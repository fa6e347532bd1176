using SharpTitan.Checkpoint;
using SharpTitan.Checkpoint.HuggingFace;
using SharpTitan.Cli.Commands;
using SharpTitan.Models.Llama3;
using SharpTitan.Tests.Support;
using SharpTitan.Training;
using static TorchSharp.torch;

namespace SharpTitan.Tests.Checkpoint;

public class HuggingFaceTests
{
    public HuggingFaceTests() => TestSetup.Torch();

    [Fact]
    public void SafetensorsRoundTripsEveryDtypeAndRejectsATruncatedFile()
    {
        var path = Path.Combine(TestSetup.TempDir("st"), "x.safetensors");
        using var scope = NewDisposeScope();
        var tensors = new List<(string, Tensor)>
        {
            ("a", randn(3, 5)), ("b", randn(7).to(ScalarType.BFloat16)), ("c", arange(6, ScalarType.Int64).view(2, 3)), ("d", randn(2, 2).to(ScalarType.Float16)),
        };
        Safetensors.Write(path, tensors);
        Assert.Equal(0, (BitConverter.ToInt64(File.ReadAllBytes(path), 0) + 8) % 8); // data starts 8-byte aligned
        var back = Safetensors.Read(path);
        foreach (var (name, t) in tensors)
        {
            Assert.Equal(t.dtype, back[name].dtype);
            Assert.Equal(t.shape, back[name].shape);
            Assert.True(Same(t, back[name]), name);
        }
        File.WriteAllBytes(path, File.ReadAllBytes(path)[..^4]);
        var e = Assert.Throws<InvalidDataException>(() => Safetensors.Read(path));
        Assert.Contains("tensor d", e.Message);
    }

    /// <summary>
    /// The permutation is right when Hugging Face's rotate-half rotary on the permuted projection equals the
    /// permuted interleaved rotary of ours, for queries and for grouped key heads.
    /// </summary>
    [Fact]
    public void PermutedProjectionsUnderHalfSplitRotaryEqualOursUnderInterleavedRotary()
    {
        using var scope = NewDisposeScope();
        var args = ModelFlavors.Llama3["tiny"] with { MaxSeqLen = 16 };
        var (cos, sin) = RotaryEmbedding.Tables(args, 16);
        int hd = args.HeadDim;
        foreach (int heads in new[] { args.NHeads, args.KvHeads })
        {
            var w = randn(heads * hd, args.Dim);
            var x = randn(2, 16, args.Dim);
            var ours = RotaryEmbedding.Apply(x.matmul(w.t()).view(2, 16, heads, hd), cos, sin); // interleaved pairs
            var wHf = HfLlama.ToHfRotary(w, heads);
            var qHf = x.matmul(wHf.t()).view(2, 16, heads, hd);
            // Hugging Face: q * cos + rotate_half(q) * sin, with cos/sin repeated over both halves.
            var c = cat([cos, cos], 1).view(1, 16, 1, hd);
            var s = cat([sin, sin], 1).view(1, 16, 1, hd);
            var rotateHalf = cat([-qHf.narrow(-1, hd / 2, hd / 2), qHf.narrow(-1, 0, hd / 2)], -1);
            var hf = qHf * c + rotateHalf * s;
            // Our result, rows permuted per head the same way as the weights.
            var oursPermuted = ours.view(2, 16, heads, hd / 2, 2).transpose(-1, -2).reshape(2, 16, heads, hd);
            Assert.True(hf.allclose(oursPermuted, rtol: 1e-5, atol: 1e-5), $"{heads} heads");
            Assert.True(Same(HfLlama.FromHfRotary(wHf, heads), w));
        }
    }

    [Fact]
    public void ExportImportRoundTripGivesIdenticalTensorsAndLogits()
    {
        var dump = TestSetup.TempDir("hf");
        using (var t = new Trainer(TinyConfig.Create(steps: 3, overrides: ["--checkpoint.enable", "--job.dump_folder", dump]), TextWriter.Null)) t.Run();
        var step = Path.Combine(dump, "checkpoint", "step-3");
        var hf = Path.Combine(dump, "hf");
        var back = Path.Combine(dump, "back");
        // A small shard limit forces several safetensors files and the index.
        Assert.Equal(0, new ConvertCommand().Run(["--to", "hf", step, hf, "--max-shard-size", "100000"]));
        Assert.True(File.Exists(Path.Combine(hf, HfCheckpoint.IndexFile)));
        Assert.True(Directory.GetFiles(hf, "model-*-of-*.safetensors").Length > 1);
        var names = Safetensors.Read(Directory.GetFiles(hf, "model-00001-*.safetensors")[0]);
        Assert.Contains("model.layers.0.self_attn.k_proj.weight", names.Keys);
        foreach (var v in names.Values) v.Dispose();
        Assert.Equal(0, new ConvertCommand().Run(["--from", "hf", hf, back, .. TinyArgs()]));

        var a = CheckpointReader.ReadModel(step);
        var b = CheckpointReader.ReadModel(Path.Combine(back, "step-0"));
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        foreach (var (name, value) in a) Assert.True(Same(value, b[name]), name);

        // Logits: the checkpoint's model vs a trainer that starts from the Hugging Face folder.
        using var original = CheckpointModel.Open(step).LoadTransformer(32);
        using var trainer = new Trainer(TinyConfig.Create(steps: 1, overrides: ["--checkpoint.enable", "--checkpoint.initial_load_path", hf,
            "--checkpoint.initial_load_in_hf", "--job.dump_folder", TestSetup.TempDir("hf-load")]), TextWriter.Null);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var tokens = randint(0, 259, [2, 32], dtype: ScalarType.Int64);
        Assert.True(Same(original.forward(tokens), trainer.Model.forward(tokens)), "logits differ after the Hugging Face round trip");
        foreach (var v in a.Values.Concat(b.Values)) v.Dispose();
    }

    [Fact]
    public void AnotherModelsHuggingFaceFolderIsRejectedWithItsDifferences()
    {
        var dump = TestSetup.TempDir("hf-bad");
        using (var t = new Trainer(TinyConfig.Create(steps: 1, overrides: ["--checkpoint.enable", "--job.dump_folder", dump]), TextWriter.Null)) t.Run();
        var hf = Path.Combine(dump, "hf");
        new ConvertCommand().Run(["--to", "hf", Path.Combine(dump, "checkpoint", "step-1"), hf]);
        var e = Assert.Throws<InvalidDataException>(() => new ConvertCommand().Run(["--from", "hf", hf, Path.Combine(dump, "back"), .. TinyArgs(), "--model.flavor", "debugmodel"]));
        Assert.Contains("describes another model", e.Message);
        Assert.Contains("hidden_size = 64 (this model: 256)", e.Message);
    }

    /// <summary>Issue 15 item 8 through the verb: the bound is checked before the model (and its RoPE tables) is built.</summary>
    [Fact]
    public void GenerateWithAHugeMaxNewTokensIsAOneLineErrorWithExitCode2()
    {
        var dump = TestSetup.TempDir("gen-huge");
        using (var t = new Trainer(TinyConfig.Create(steps: 1, overrides: ["--checkpoint.enable", "--job.dump_folder", dump]), TextWriter.Null)) t.Run();
        var error = new StringWriter();
        var previous = Console.Error;
        Console.SetError(error);
        int rc;
        long rssBefore = SharpTitan.Metrics.ProcessMemory.RssBytes();
        try { rc = CommandLine.Run(["generate", "--checkpoint", Path.Combine(dump, "checkpoint"), "--prompt", "Once", "--max-new-tokens", "100000000"]); }
        finally { Console.SetError(previous); }
        Assert.Equal(2, rc);
        Assert.Contains("new tokens", error.ToString());
        Assert.Single(error.ToString().Trim().Split('\n'));
        Assert.True(SharpTitan.Metrics.ProcessMemory.RssBytes() - rssBefore < 1L << 30, "generate allocated more than 1 GiB before refusing");
    }

    [Fact]
    public void GreedyGenerationIsDeterministicAndTopOneSamplingIsGreedy()
    {
        var dump = TestSetup.TempDir("gen");
        using (var t = new Trainer(TinyConfig.Create(steps: 2, overrides: ["--checkpoint.enable", "--job.dump_folder", dump]), TextWriter.Null)) t.Run();
        using var model = CheckpointModel.Open(Path.Combine(dump, "checkpoint")).LoadTransformer(64);
        var prompt = new[] { 256, 84, 104, 101 };
        var greedy = Inference.TextGenerator.Generate(model, prompt, 12, new(Temperature: 0));
        Assert.Equal(12, greedy.Count);
        Assert.Equal(greedy, Inference.TextGenerator.Generate(model, prompt, 12, new(Temperature: 0)));
        Assert.Equal(greedy, Inference.TextGenerator.Generate(model, prompt, 12, new(Temperature: 1, TopK: 1, Seed: 5)));
        var sampled = Inference.TextGenerator.Generate(model, prompt, 12, new(Temperature: 1.5, Seed: 5));
        Assert.Equal(sampled, Inference.TextGenerator.Generate(model, prompt, 12, new(Temperature: 1.5, Seed: 5)));
        Assert.All(sampled, t => Assert.InRange(t, 0, 258));
    }

    private static bool Same(Tensor a, Tensor b)
    {
        if (a.dtype != b.dtype || !a.shape.SequenceEqual(b.shape)) return false;
        using var eq = a.eq(b).all();
        return eq.item<bool>();
    }

    private static string[] TinyArgs() =>
        ["--model.flavor", "tiny", "--model.tokenizer_path", Path.Combine(TestSetup.RepoRoot, "assets", "tokenizer", "byte_tokenizer.json"), "--training.seq_len", "32"];
}
