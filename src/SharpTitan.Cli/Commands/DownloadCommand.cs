using SharpTitan.Data;

namespace SharpTitan.Cli.Commands;

/// <summary>`sharptitan download c4 --split train --shards 0-3 --to DIR [--endpoint URL]`</summary>
public sealed class DownloadCommand : ICommand
{
    public string Name => "download";
    public string Summary => "fetch C4 shards (resumable, verified): c4 --split train|validation --shards 0-3 --to DIR [--endpoint URL]";

    public int Run(string[] args)
    {
        if (args.Length == 0 || args[0] != "c4") throw new UsageException("expected `download c4 --split train --shards 0-3 --to DIR` (c4 is the one dataset this command knows)");
        string split = "train", shardText = "0", to = "./data/c4";
        string endpoint = Environment.GetEnvironmentVariable("HF_ENDPOINT") is { Length: > 0 } e ? e : C4Shards.DefaultEndpoint;
        for (int i = 1; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new UsageException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--split": split = Next(); break;
                case "--shards": shardText = Next(); break;
                case "--to": to = Next(); break;
                case "--endpoint": endpoint = Next(); break;
                default: throw new UsageException($"unknown option '{args[i]}' (expected --split, --shards, --to, --endpoint)");
            }
        }
        IReadOnlyList<int> shards;
        try { shards = C4Shards.ParseRange(shardText, split); }
        catch (ArgumentException ex) { throw new UsageException(ex.Message); }
        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out _)) throw new UsageException($"--endpoint \"{endpoint}\": not an absolute URL");

        Directory.CreateDirectory(to);
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(30) };
        http.DefaultRequestHeaders.UserAgent.ParseAdd("sharptitan");
        var download = new ResumableDownload(http, Console.IsErrorRedirected ? null : Console.Error);
        try
        {
            foreach (int shard in shards)
            {
                string dest = Path.Combine(to, C4Shards.FileName(split, shard));
                long got = download.FetchAsync(C4Shards.Url(endpoint, split, shard), dest).GetAwaiter().GetResult();
                Console.WriteLine(got == 0 ? $"{dest}: already complete (gzip verified)" : $"{dest}: {new FileInfo(dest).Length:N0} bytes (gzip verified)");
            }
        }
        catch (DownloadException ex)
        {
            Console.Error.WriteLine($"sharptitan download: error: {ex.Message}");
            return 1;
        }
        Console.WriteLine($"train on them with: --training.dataset c4 --training.dataset_path {to}");
        return 0;
    }
}
