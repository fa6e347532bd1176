namespace SharpTitan.Models.Llama3;

/// <summary>torchtitan's Llama 3 flavors (model.flavor).</summary>
public static class ModelFlavors
{
    public static IReadOnlyDictionary<string, ModelArgs> Llama3 { get; } = new Dictionary<string, ModelArgs>
    {
        // Not in torchtitan: a few-thousand-parameter model with grouped-query attention, for tests and CI.
        ["tiny"] = new() { Dim = 64, NLayers = 2, NHeads = 4, NKvHeads = 2, VocabSize = 2048, MultipleOf = 32 },
        // Not in torchtitan: tiny with as many kv heads as heads, so 4-way tensor parallel can split them.
        ["tiny_mha"] = new() { Dim = 64, NLayers = 2, NHeads = 4, VocabSize = 2048, MultipleOf = 32 },
        // Not in torchtitan: tiny with the output projection tied to the token embedding (as 1B and 3B).
        ["tiny_tied"] = new() { Dim = 64, NLayers = 2, NHeads = 4, NKvHeads = 2, VocabSize = 2048, MultipleOf = 32, TieEmbeddings = true },
        // Not in torchtitan: tiny with 6 layers, so PP 4 can hold two stages per rank (8 with the embedding and output).
        ["tiny_deep"] = new() { Dim = 64, NLayers = 6, NHeads = 4, NKvHeads = 2, VocabSize = 2048, MultipleOf = 32 },
        ["debugmodel"] = new() { Dim = 256, NLayers = 6, NHeads = 16, VocabSize = 2048, RopeTheta = 500000 },
        ["1B"] = new() { Dim = 2048, NLayers = 16, NHeads = 32, NKvHeads = 8, FfnDimMultiplier = 1.5, MultipleOf = 256, TieEmbeddings = true },
        ["3B"] = new() { Dim = 3072, NLayers = 28, NHeads = 24, NKvHeads = 8, FfnDimMultiplier = 1.0, MultipleOf = 256, TieEmbeddings = true },
        ["8B"] = new() { Dim = 4096, NLayers = 32, NHeads = 32, NKvHeads = 8, FfnDimMultiplier = 1.3, MultipleOf = 1024 },
        ["70B"] = new() { Dim = 8192, NLayers = 80, NHeads = 64, NKvHeads = 8, FfnDimMultiplier = 1.3, MultipleOf = 4096 },
        ["405B"] = new() { Dim = 16384, NLayers = 126, NHeads = 128, NKvHeads = 8, FfnDimMultiplier = 1.2, MultipleOf = 4096 },
    };
}
