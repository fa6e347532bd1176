using System.CommandLine;
using System.Diagnostics;
using SharpTitan.Data;

namespace SharpTitan.Cli.Commands;

/// <summary>
/// `sharptitan prepare-data --tokenizer PATH (--dataset NAME | --dataset-path PATH) --out FILE.bin`: tokenizes a
/// dataset once into a memory-mapped token file and its index, for training.dataset_path.
/// </summary>
public sealed class PrepareDataCommand : VerbCommand
{
    private readonly Option<string> _tokenizer = new("--tokenizer") { Description = "the tokenizer (as model.tokenizer_path)", HelpName = "PATH", Required = true };
    private readonly Option<string?> _dataset = new("--dataset") { Description = "a dataset name (as training.dataset)", HelpName = "NAME" };
    private readonly Option<string?> _datasetPath = new("--dataset-path") { Description = "the dataset's files (as training.dataset_path)", HelpName = "PATH" };
    private readonly Option<string> _out = new("--out") { Description = "the token file to write; its index goes beside it", HelpName = "FILE.bin", Required = true };
    private readonly Option<string> _textField = new("--text-field") { Description = "the JSON field holding the text", HelpName = "F", DefaultValueFactory = _ => "text" };
    private readonly Option<string> _txtSplit = new("--txt-split") { Description = ".txt files: one document per file or per blank-line block", DefaultValueFactory = _ => "file" };

    public PrepareDataCommand() : base("prepare-data",
        "pre-tokenize a dataset: --tokenizer PATH --dataset NAME | --dataset-path PATH --out FILE.bin [--text-field F] [--txt-split file|blank_lines]")
    {
        _txtSplit.AcceptOnlyFromAmong("file", "blank_lines");
        Add(_tokenizer, _dataset, _datasetPath, _out, _textField, _txtSplit);
    }

    protected override int Run(ParseResult parse)
    {
        string tokenizerPath = parse.GetValue(_tokenizer)!, output = parse.GetValue(_out)!;
        string? dataset = parse.GetValue(_dataset), datasetPath = parse.GetValue(_datasetPath);
        if (dataset == null && datasetPath == null) throw new UsageException("needs --dataset NAME or --dataset-path PATH");

        var tokenizer = TokenizerLoader.Load(tokenizerPath);
        var text = new TextOptions(parse.GetValue(_textField)!, parse.GetValue(_txtSplit) == "blank_lines");
        var source = DatasetCatalog.Resolve(dataset ?? datasetPath!, datasetPath, "prepare-data", text);
        var clock = Stopwatch.StartNew();
        string temp = output + ".tmp";
        long tokens, docs;
        using (var writer = new TokenFileWriter(temp, tokenizer))
        {
            foreach (var doc in source.Documents()) writer.Add(doc);
            (tokens, docs) = (writer.TokenCount, writer.DocumentCount);
        }
        if (docs == 0)
        {
            File.Delete(temp);
            File.Delete(TokenFile.IndexPath(temp));
            throw new InvalidDataException($"{source.Name}: no documents ({source.SkippedRecords} record(s) without text)");
        }
        File.Move(temp, output, overwrite: true);
        File.Move(TokenFile.IndexPath(temp), TokenFile.IndexPath(output), overwrite: true);
        Console.WriteLine($"{output}: {tokens:N0} tokens from {docs:N0} documents ({source.SkippedRecords:N0} records without text skipped) " +
                          $"in {clock.Elapsed.TotalSeconds:F1} s; index {TokenFile.IndexPath(output)}");
        Console.WriteLine($"train on it with: --training.dataset_path {output} --model.tokenizer_path {tokenizerPath}");
        return 0;
    }
}
