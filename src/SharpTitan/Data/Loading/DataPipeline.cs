namespace SharpTitan.Data;

/// <summary>Builds the window source a spec names (a token file from `prepare-data`, else streamed text) and its loader.</summary>
public static class DataPipeline
{
    public static IWindowSource OpenSource(DataSpec spec, ITokenizer tokenizer, int seqLen, Action<string>? log = null) =>
        IsTokenFile(spec)
            ? new TokenFileWindows(OpenTokenFile(spec, tokenizer), seqLen + 1)
            : new PackedTextWindows(DatasetCatalog.Resolve(spec.Dataset, spec.DatasetPath, spec.KeyPrefix, spec.Text), tokenizer, seqLen + 1, log);

    /// <summary>Finds the dataset a spec names without reading it: a missing one, or a token file of another tokenizer, is an error.</summary>
    public static void Check(DataSpec spec, ITokenizer tokenizer)
    {
        if (IsTokenFile(spec)) OpenTokenFile(spec, tokenizer).Dispose();
        else DatasetCatalog.Resolve(spec.Dataset, spec.DatasetPath, spec.KeyPrefix, spec.Text);
    }

    private static bool IsTokenFile(DataSpec spec) => spec.DatasetPath != null && TokenFile.IsTokenFile(spec.DatasetPath);

    private static TokenFile OpenTokenFile(DataSpec spec, ITokenizer tokenizer)
    {
        var file = TokenFile.Open(spec.DatasetPath!);
        if (file.VocabSize != tokenizer.VocabSize || file.BosId != tokenizer.BosId || file.EosId != tokenizer.EosId)
        {
            file.Dispose();
            throw new InvalidDataException($"{spec.KeyPrefix}.dataset_path: {spec.DatasetPath} was prepared with another tokenizer " +
                $"(vocab {file.VocabSize}, BOS {file.BosId}, EOS {file.EosId}; model.tokenizer_path gives vocab {tokenizer.VocabSize}, BOS {tokenizer.BosId}, EOS {tokenizer.EosId})");
        }
        return file;
    }

    public static DataLoader CreateLoader(DataSpec spec, ITokenizer tokenizer, int seqLen, int localBatch,
        int dpRank = 0, int dpDegree = 1, Action<string>? log = null, DataLoaderState? resume = null, int prefetch = 4)
    {
        var source = OpenSource(spec, tokenizer, seqLen, log);
        log?.Invoke($"data: {source.Describe()}; dp rank {dpRank} of {dpDegree}, {localBatch} row(s) of {seqLen} tokens per micro-batch");
        return new DataLoader(source, seqLen, localBatch, dpRank, dpDegree, resume, prefetch);
    }
}
