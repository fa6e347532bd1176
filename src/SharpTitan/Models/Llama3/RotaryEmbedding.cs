using static TorchSharp.torch;

namespace SharpTitan.Models.Llama3;

/// <summary>
/// Rotary position embedding with Llama 3 frequency scaling. Pairs are interleaved (x[2i], x[2i+1]) as in
/// Meta's and torchtitan's layout; each pair is rotated by position x frequency i.
/// </summary>
internal static class RotaryEmbedding
{
    /// <summary>The rotation frequency of each pair, after Llama 3 scaling.</summary>
    public static double[] Frequencies(ModelArgs args)
    {
        int half = args.HeadDim / 2;
        var freqs = new double[half];
        double lowWavelen = args.RopeOriginalMaxPositions / args.RopeLowFreqFactor;
        double highWavelen = args.RopeOriginalMaxPositions / args.RopeHighFreqFactor;
        for (int i = 0; i < half; i++)
        {
            double f = 1.0 / Math.Pow(args.RopeTheta, 2.0 * i / args.HeadDim);
            double wavelen = 2 * Math.PI / f;
            if (args.RopeScalingFactor > 1 && wavelen > highWavelen)
            {
                if (wavelen > lowWavelen) f /= args.RopeScalingFactor;
                else
                {
                    double smooth = (args.RopeOriginalMaxPositions / wavelen - args.RopeLowFreqFactor)
                                    / (args.RopeHighFreqFactor - args.RopeLowFreqFactor);
                    f = (1 - smooth) * f / args.RopeScalingFactor + smooth * f;
                }
            }
            freqs[i] = f;
        }
        return freqs;
    }

    /// <summary>cos and sin tables of shape [seqLen, headDim/2], fp32.</summary>
    public static (Tensor Cos, Tensor Sin) Tables(ModelArgs args, int seqLen)
    {
        using var scope = NewDisposeScope();
        var freqs = tensor(Frequencies(args), ScalarType.Float64);
        var positions = arange(seqLen, ScalarType.Float64);
        var angles = outer(positions, freqs);
        var cos = angles.cos().to(ScalarType.Float32);
        var sin = angles.sin().to(ScalarType.Float32);
        return (cos.MoveToOuterDisposeScope(), sin.MoveToOuterDisposeScope());
    }

    /// <summary>Rotates x of shape [batch, seq, heads, headDim] (computed in fp32, returned in x's dtype).</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], s = x.shape[1], h = x.shape[2], d = x.shape[3];
        var pairs = x.to(ScalarType.Float32).view(b, s, h, d / 2, 2);
        var x0 = pairs.select(-1, 0);
        var x1 = pairs.select(-1, 1);
        var c = cos.narrow(0, 0, s).view(1, s, 1, d / 2);
        var sn = sin.narrow(0, 0, s).view(1, s, 1, d / 2);
        var rotated = stack([x0 * c - x1 * sn, x0 * sn + x1 * c], -1).view(b, s, h, d);
        return rotated.to(x.dtype).MoveToOuterDisposeScope();
    }
}
