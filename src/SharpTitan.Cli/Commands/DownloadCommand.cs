using System.CommandLine;
using SharpTitan.Data;

namespace SharpTitan.Cli.Commands;

/// <summary>`sharptitan download c4 --split train --shards 0-3 --to DIR [--endpoint URL]`</summary>
public sealed class DownloadCommand : VerbCommand
{
    private readonly Argument<string> _dataset = new("DATASET") { Description = "the dataset: c4 (the one this command knows)" };
    private readonly Option<string> _split = new("--split") { Description = "train or validation", DefaultValueFactory = _ => "train" };
    private readonly Option<string> _shards = new("--shards") { Description = "shard numbers: 0-3, 5 or 0,2,7", DefaultValueFactory = _ => "0" };
    private readonly Option<string> _to = new("--to") { Description = "the folder to write to", HelpName = "DIR", DefaultValueFactory = _ => "./data/c4" };
    private readonly Option<string?> _endpoint = new("--endpoint") { Description = $"the hub's address (default: $HF_ENDPOINT, else {C4Shards.DefaultEndpoint})", HelpName = "URL" };

    public DownloadCommand() : base("download", "fetch C4 shards (resumable, verified): c4 --split train|validation --shards 0-3 --to DIR [--endpoint URL]")
    {
        _dataset.AcceptOnlyFromAmong("c4");
        Add(_dataset, _split, _shards, _to, _endpoint);
    }

    protected override int Run(ParseResult parse)
    {
        string split = parse.GetValue(_split)!, to = parse.GetValue(_to)!;
        string endpoint = parse.GetValue(_endpoint)
            ?? (Environment.GetEnvironmentVariable("HF_ENDPOINT") is { Length: > 0 } e ? e : C4Shards.DefaultEndpoint);
        IReadOnlyList<int> shards;
        try { shards = C4Shards.ParseRange(parse.GetValue(_shards)!, split); }
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
