using SharpTitan.Models.Llama3;
using SharpTitan.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace SharpTitan.Tests.Models;

public class ModelComponentTests
{
    public ModelComponentTests() => TestSetup.Torch();

    [Fact]
    public void RmsNormMatchesItsDefinition()
    {
        using var scope = NewDisposeScope();
        manual_seed(1);
        var norm = new RMSNorm(8, 1e-5);
        using (no_grad()) norm.weight.copy_(arange(1, 9, ScalarType.Float32) / 4);
        var x = randn(3, 8);
        var y = norm.forward(x);
        var xs = x.data<float>().ToArray();
        var w = norm.weight.data<float>().ToArray();
        var ys = y.data<float>().ToArray();
        for (int r = 0; r < 3; r++)
        {
            double ms = 0;
            for (int i = 0; i < 8; i++) ms += xs[r * 8 + i] * (double)xs[r * 8 + i];
            double inv = 1 / Math.Sqrt(ms / 8 + 1e-5);
            for (int i = 0; i < 8; i++) Assert.True(Math.Abs(xs[r * 8 + i] * inv * w[i] - ys[r * 8 + i]) < 1e-5);
        }
    }

    [Fact]
    public void Llama3FrequencyScalingFollowsItsThreeBands()
    {
        var args = new ModelArgs { Dim = 128 * 4, NHeads = 4, RopeTheta = 500000 }; // head dim 128
        var f = RotaryEmbedding.Frequencies(args);
        double Raw(int i) => 1 / Math.Pow(500000, 2.0 * i / 128);
        // High frequencies (wavelength < 8192/4 = 2048) are untouched; low ones (> 8192) are divided by 8.
        Assert.Equal(Raw(0), f[0], 12);
        Assert.Equal(Raw(63) / 8, f[63], 15);
        // In between, a smooth blend: find one index in the band and check the formula.
        int mid = Enumerable.Range(0, 64).First(i => 2 * Math.PI / Raw(i) is > 2048 and < 8192);
        double smooth = (8192 / (2 * Math.PI / Raw(mid)) - 1) / (4 - 1);
        Assert.Equal((1 - smooth) * Raw(mid) / 8 + smooth * Raw(mid), f[mid], 15);
    }

    [Fact]
    public void RotaryEmbeddingRotatesInterleavedPairsByPositionTimesFrequency()
    {
        using var scope = NewDisposeScope();
        var args = new ModelArgs { Dim = 16, NHeads = 2, RopeTheta = 10000 }; // head dim 8, 4 pairs
        var (cos, sin) = RotaryEmbedding.Tables(args, 5);
        manual_seed(2);
        var x = randn(1, 5, 2, 8);
        var y = RotaryEmbedding.Apply(x, cos, sin);
        var freqs = RotaryEmbedding.Frequencies(args);
        var xs = x.data<float>().ToArray();
        var ys = y.data<float>().ToArray();
        for (int s = 0; s < 5; s++)
        for (int h = 0; h < 2; h++)
        for (int i = 0; i < 4; i++)
        {
            int at = ((s * 2) + h) * 8 + 2 * i;
            double angle = s * freqs[i];
            double re = xs[at] * Math.Cos(angle) - xs[at + 1] * Math.Sin(angle);
            double im = xs[at] * Math.Sin(angle) + xs[at + 1] * Math.Cos(angle);
            Assert.True(Math.Abs(re - ys[at]) < 1e-5, $"real part at {s},{h},{i}: {ys[at]} vs {re}");
            Assert.True(Math.Abs(im - ys[at + 1]) < 1e-5, $"imaginary part at {s},{h},{i}: {ys[at + 1]} vs {im}");
        }
    }

    [Fact]
    public void GroupedQueryAttentionMatchesPlainSoftmaxAttention()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var args = new ModelArgs { Dim = 32, NHeads = 4, NKvHeads = 2, VocabSize = 10, MaxSeqLen = 6 };
        var attention = new Attention(args);
        var (cos, sin) = RotaryEmbedding.Tables(args, 6);
        var x = randn(2, 6, 32);
        var actual = attention.forward(x, cos, sin);

        // Reference: explicit projections, rotation, each query head using kv head (h / 2), masked softmax.
        int hd = 8;
        var q = RotaryEmbedding.Apply(x.matmul(attention.wq.weight!.t()).view(2, 6, 4, hd), cos, sin);
        var k = RotaryEmbedding.Apply(x.matmul(attention.wk.weight!.t()).view(2, 6, 2, hd), cos, sin);
        var v = x.matmul(attention.wv.weight!.t()).view(2, 6, 2, hd);
        var heads = new List<Tensor>();
        var mask = ones(6, 6).triu(1).to(ScalarType.Bool);
        for (int h = 0; h < 4; h++)
        {
            var qh = q.select(2, h);
            var kh = k.select(2, h / 2);
            var vh = v.select(2, h / 2);
            var scores = qh.matmul(kh.transpose(1, 2)) / Math.Sqrt(hd);
            scores = scores.masked_fill(mask, double.NegativeInfinity);
            heads.Add(scores.softmax(-1).matmul(vh));
        }
        var expected = stack(heads, 2).reshape(2, 6, 32).matmul(attention.wo.weight!.t());
        Assert.True(allclose(actual, expected, rtol: 1e-4, atol: 1e-5), "attention differs from the plain softmax reference");
    }

    [Fact]
    public void ParameterNamesMatchTorchtitan()
    {
        using var model = new Transformer(ModelFlavors.Llama3["tiny"] with { MaxSeqLen = 8 });
        var names = model.named_parameters().Select(p => p.name).ToHashSet();
        foreach (var n in new[] { "tok_embeddings.weight", "layers.0.attention.wq.weight", "layers.1.attention.wo.weight",
                     "layers.0.feed_forward.w1.weight", "layers.0.attention_norm.weight", "layers.0.ffn_norm.weight",
                     "norm.weight", "output.weight" })
            Assert.Contains(n, names);
    }

    [Fact]
    public void TransformerProducesLogitsPerPositionAndIsCausal()
    {
        using var scope = NewDisposeScope();
        manual_seed(4);
        using var model = new Transformer(ModelFlavors.Llama3["tiny"] with { VocabSize = 50, MaxSeqLen = 8 });
        model.InitWeights();
        var tokens = randint(0, 50, [2, 8]);
        var logits = model.forward(tokens);
        Assert.Equal(new long[] { 2, 8, 50 }, logits.shape);
        // Changing the last token must not change earlier positions' logits.
        var changed = tokens.clone();
        changed[TensorIndex.Colon, 7] = (changed[TensorIndex.Colon, 7] + 1) % 50;
        var logits2 = model.forward(changed);
        Assert.True(allclose(logits.narrow(1, 0, 7), logits2.narrow(1, 0, 7), atol: 1e-6));
        Assert.False(allclose(logits.narrow(1, 7, 1), logits2.narrow(1, 7, 1), atol: 1e-6));
    }

    [Fact]
    public void InitFollowsTorchtitan()
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        var args = new ModelArgs { Dim = 256, NLayers = 4, NHeads = 4, VocabSize = 512, MaxSeqLen = 8 };
        using var model = new Transformer(args);
        model.InitWeights();
        double Std(Tensor t) => t.std().item<float>();
        Assert.InRange(Std(model.tok_embeddings.weight!), 0.95, 1.05);
        Assert.InRange(Std(model.layers[0].attention.wq.weight!), 0.018, 0.022);
        // Depth init: block 3's output projections use 0.02 / sqrt(2 * 4).
        Assert.InRange(Std(model.layers[3].attention.wo.weight!), 0.02 / Math.Sqrt(8) * 0.9, 0.02 / Math.Sqrt(8) * 1.1);
        // Output projection: truncated at 3 std of dim^-0.5.
        double outStd = 1 / Math.Sqrt(256);
        Assert.True(model.output!.weight!.abs().max().item<float>() <= 3 * outStd + 1e-6);
        Assert.True(model.norm.weight.eq(1).all().item<bool>());
    }
}
