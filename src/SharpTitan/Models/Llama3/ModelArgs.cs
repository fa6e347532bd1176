namespace SharpTitan.Models.Llama3;

/// <summary>The shape of a Llama 3 model (torchtitan's TransformerModelArgs).</summary>
public sealed record ModelArgs
{
    public int Dim { get; init; } = 4096;
    public int NLayers { get; init; } = 32;
    public int NHeads { get; init; } = 32;
    /// <summary>Key/value heads for grouped-query attention; null = NHeads.</summary>
    public int? NKvHeads { get; init; }
    public int VocabSize { get; init; } = 128256;
    public int MultipleOf { get; init; } = 256;
    public double? FfnDimMultiplier { get; init; }
    public double NormEps { get; init; } = 1e-5;
    public double RopeTheta { get; init; } = 500000;
    /// <summary>Llama 3 RoPE frequency scaling (factor 8, low 1, high 4, original context 8192).</summary>
    public double RopeScalingFactor { get; init; } = 8;
    public double RopeLowFreqFactor { get; init; } = 1;
    public double RopeHighFreqFactor { get; init; } = 4;
    public int RopeOriginalMaxPositions { get; init; } = 8192;
    public int MaxSeqLen { get; init; } = 131072;
    /// <summary>Output projection shares the token embedding (Llama 3.2 1B and 3B).</summary>
    public bool TieEmbeddings { get; init; }
    /// <summary>Output projections of block i scaled by 1/sqrt(2(i+1)) at init (torchtitan's depth_init).</summary>
    public bool DepthInit { get; init; } = true;

    public int KvHeads => NKvHeads ?? NHeads;
    public int HeadDim => Dim / NHeads;

    /// <summary>SwiGLU hidden size: round_up(int(multiplier * int(8 * dim / 3)), multiple_of).</summary>
    public long FfnHiddenDim
    {
        get
        {
            long hidden = 2 * (4L * Dim) / 3;
            if (FfnDimMultiplier is double m) hidden = (long)(m * hidden);
            return MultipleOf * ((hidden + MultipleOf - 1) / MultipleOf);
        }
    }

    /// <summary>Throws with a clear message when the shape cannot form a model.</summary>
    public void Validate()
    {
        if (Dim % NHeads != 0) throw new ArgumentException($"model dim {Dim} is not divisible by n_heads {NHeads}");
        if (NHeads % KvHeads != 0) throw new ArgumentException($"n_heads {NHeads} is not divisible by n_kv_heads {KvHeads}");
        if (HeadDim % 2 != 0) throw new ArgumentException($"head dim {HeadDim} must be even for rotary embeddings");
    }

    /// <summary>Number of parameters, computed from the shape alone (nothing is allocated).</summary>
    public long ParameterCount(bool excludeEmbedding = false)
    {
        long perLayer = (long)Dim * Dim * 2                 // wq, wo
                        + (long)Dim * KvHeads * HeadDim * 2 // wk, wv
                        + 3L * Dim * FfnHiddenDim           // w1, w2, w3
                        + 2L * Dim;                         // attention_norm, ffn_norm
        long embedding = (long)VocabSize * Dim;
        long output = TieEmbeddings ? 0 : (long)VocabSize * Dim;
        long total = NLayers * perLayer + embedding + output + Dim;
        return excludeEmbedding ? total - embedding : total;
    }

    /// <summary>
    /// Training FLOPs per token, torchtitan's formula: 6 x (parameters without the token embedding)
    /// + 12 x n_layers x dim x seq_len (the attention score and value matmuls, forward and backward).
    /// </summary>
    public double FlopsPerToken(int seqLen) =>
        6.0 * ParameterCount(excludeEmbedding: true) + 12.0 * NLayers * Dim * seqLen;
}
