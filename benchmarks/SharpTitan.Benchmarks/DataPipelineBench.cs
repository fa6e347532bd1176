using System.Diagnostics;
using System.Globalization;
using System.Text;
using SharpTitan.Config;
using SharpTitan.Data;
using SharpTitan.Metrics;
using SharpTitan.Training;
using (var writer = new TokenFileWriter(bin, tokenizers[1].Tokenizer)) foreach (var d in docs) writer.Add(d);
using (var trainer = new Trainer(config, log)) trainer.Run();

namespace SharpTitan.Benchmarks;

/// <summary>
/// Tokenizer MB/s, loader tokens/s on the C4 sample, and what the debug model consumes in training (its tps and
/// data_wait), written to benchmarks/results/data_pipeline.md. Run from the repository root.
/// </summary>
public static class DataPipelineBench
{
    public static int Run(int trainSteps)
    {
        var stepLines = log.ToString().Split('\n').Where(l => l.StartsWith("step:")).ToList();
        string last = stepLines[^1];
        string Field(string key) => last.Split(key + ":")[1].Trim().Split(' ')[0].TrimEnd('%');
        double trainTps = double.Parse(Field("tps").Replace(",", ""));
        double dataWait = double.Parse(Field("data_wait"));
        report.AppendLine($"\n| debug model training (fp32, {TorchSharp.torch.get_num_threads()} threads, seq_len {SeqLen}, batch {LocalBatch}, tiktoken vocab 2,256) | value |\n|---|---:|");
        report.AppendLine($"| training tokens/s (step {trainSteps}) | {trainTps:N0} |");
        report.AppendLine($"| trainer data_wait (share of step time, step {trainSteps}) | {dataWait:F2}% |");
        report.AppendLine($"| streamed tiktoken loader tokens/s / training tokens/s | {tiktokenLoaderTps / trainTps:F0}x |");
        report.AppendLine($"\ntrainer log:\n```\n{log.ToString().Trim()}\n```");
        Console.WriteLine($"training: {trainTps:N0} tokens/s, data_wait {dataWait:F2}%");

        string outPath = Path.Combine(root, "benchmarks", "results", "data_pipeline.md");
        File.WriteAllText(outPath, report.ToString());
        Console.WriteLine($"wrote {outPath}");
        return 0;
    }
}
