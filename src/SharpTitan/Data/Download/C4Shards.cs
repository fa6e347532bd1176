namespace SharpTitan.Data;

/// <summary>The allenai/c4 "en" shards on the Hugging Face hub: c4-SPLIT.NNNNN-of-MMMMM.json.gz.</summary>
internal static class C4Shards
{
    public const string DefaultEndpoint = "https://huggingface.co";

    public static int ShardCount(string split) => split switch
    {
        "train" => 1024,
        "validation" => 8,
        _ => throw new ArgumentException($"--split \"{split}\": expected train or validation"),
    };

    public static string FileName(string split, int shard) => $"c4-{split}.{shard:D5}-of-{ShardCount(split):D5}.json.gz";

    public static Uri Url(string endpoint, string split, int shard) =>
        new($"{endpoint.TrimEnd('/')}/datasets/allenai/c4/resolve/main/en/{FileName(split, shard)}");

    /// <summary>"3", "0-3" or "0,2,5-7" to shard numbers within the split.</summary>
    public static IReadOnlyList<int> ParseRange(string text, string split)
    {
        int count = ShardCount(split);
        var shards = new List<int>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var ends = part.Split('-');
            if (ends.Length > 2 || !int.TryParse(ends[0], out int a) || !int.TryParse(ends[^1], out int b) || a > b || a < 0 || b >= count)
                throw new ArgumentException($"--shards \"{text}\": expected shard numbers or ranges like 0-3 within 0..{count - 1}");
            for (int i = a; i <= b; i++) if (!shards.Contains(i)) shards.Add(i);
        }
        if (shards.Count == 0) throw new ArgumentException($"--shards \"{text}\": no shards");
        return shards;
    }
}
