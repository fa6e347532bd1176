using System.Diagnostics;
using SharpTitan.Data;

namespace SharpTitan.Cli.Commands;

/// <summary>
/// `sharptitan prepare-data --tokenizer PATH (--dataset NAME | --dataset-path PATH) --out FILE.bin`: tokenizes a
/// dataset once into a memory-mapped token file and its index, for training.dataset_path.
/// </summary>
public sealed class PrepareDataCommand : ICommand
{
    public string Name => "prepare-data";
    public string Summary => "pre-tokenize a dataset: --tokenizer PATH --dataset NAME | --dataset-path PATH --out FILE.bin [--text-field F] [--txt-split file|blank_lines]";

    public int Run(string[] args)
    {
        string? tokenizerPath = null, dataset = null, datasetPath = null, output = null;
        string textField = "text", txtSplit = "file";
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new UsageException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--tokenizer": tokenizerPath = Next(); break;
                case "--dataset": dataset = Next(); break;
                case "--dataset-path": datasetPath = Next(); break;
                case "--out": output = Next(); break;
                case "--text-field": textField = Next(); break;
                case "--txt-split": txtSplit = Next(); break;
                default: throw new UsageException($"unknown option '{args[i]}' (expected --tokenizer, --dataset, --dataset-path, --out, --text-field, --txt-split)");
            }
        }
        if (tokenizerPath == null || output == null || (dataset == null && datasetPath == null))
            throw new UsageException("needs --tokenizer PATH, --dataset NAME or --dataset-path PATH, and --out FILE.bin");
        if (txtSplit is not ("file" or "blank_lines")) throw new UsageException($"--txt-split \"{txtSplit}\": expected file or blank_lines");

        var tokenizer = TokenizerLoader.Load(tokenizerPath);
        var source = DatasetCatalog.Resolve(dataset ?? datasetPath!, datasetPath, "prepare-data", new TextOptions(textField, txtSplit == "blank_lines"));
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
