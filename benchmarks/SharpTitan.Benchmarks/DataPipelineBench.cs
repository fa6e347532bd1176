using System.Diagnostics;
using System.Globalization;
using System.Text;
using SharpTitan.Config;
using SharpTitan.Data;
using SharpTitan.Metrics;
using SharpTitan.Training;

namespace SharpTitan.Benchmarks;

/// <summary>
/// Tokenizer MB/s, gzip reading MB/s, loader tokens/s on the C4 sample, and what the debug model consumes in training
/// (its tps and data_wait; skipped when trainSteps is 0), written to data.md in the results folder. Run from the
/// repository root.
/// </summary>
public static class DataPipelineBench
{
    public static int Run(string resultsDir, int trainSteps)
    {
        CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
        string root = Directory.GetCurrentDirectory();
        if (!File.Exists(Path.Combine(root, "SharpTitan.slnx"))) { Console.Error.WriteLine("run from the repository root"); return 2; }
        string Shared(string rel)
        {
            string p = Path.GetFullPath(Path.Combine(root, "..", "shared", rel));
            if (!File.Exists(p)) throw new FileNotFoundException($"shared data missing: {p}");
            return p;
        }
        string c4 = Shared("datasets/c4_sample/c4_sample.jsonl"), c4Gz = Shared("datasets/c4_sample/c4_sample.json.gz"), tiktokenPath = Shared("tokenizers/test_tiktoken.model");
        const int SeqLen = 2048, LocalBatch = 8;

        var docs = DatasetCatalog.Resolve("c4_test", c4).Documents().ToList();
        double megabytes = docs.Sum(d => Encoding.UTF8.GetByteCount(d)) / 1e6;
        var report = new StringBuilder();
        report.AppendLine("# Data pipeline benchmark (raw results)\n");
        report.AppendLine($"machine: {PeakFlops.CpuModel()}, {Environment.ProcessorCount} cores; {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; " +
                          $"C4 sample {docs.Count} documents, {megabytes:F2} MB of UTF-8\n");

        // 1. Tokenizer throughput: single thread, whole C4 sample, best of 3 passes after a warm-up.
        report.AppendLine("| tokenizer | MB/s | tokens | bytes/token |\n|---|---:|---:|---:|");
        var tokenizers = new (string Name, ITokenizer Tokenizer)[]
        {
            ("byte-level (debug)", new ByteTokenizer()), ("tiktoken test_tiktoken.model (2,000 ranks)", TokenizerLoader.Load(tiktokenPath)),
            ("cl100k_base", TokenizerLoader.Load("cl100k_base")),
        };
        foreach (var (name, t) in tokenizers)
        {
            foreach (var d in docs.Take(50)) t.Encode(d);
            double best = double.MaxValue;
            long tokens = 0;
            for (int pass = 0; pass < 3; pass++)
            {
                var sw = Stopwatch.StartNew();
                tokens = 0;
                foreach (var d in docs) tokens += t.Encode(d).Length;
                best = Math.Min(best, sw.Elapsed.TotalSeconds);
            }
            report.AppendLine($"| {name} | {megabytes / best:F1} | {tokens:N0} | {megabytes * 1e6 / tokens:F2} |");
            Console.WriteLine($"tokenizer {name}: {megabytes / best:F1} MB/s");
        }

        // 1b. Reading the gzip sample: the former unverified reader and the verifying one, interleaved in this process.
        report.AppendLine();
        report.Append(GzipReadBench.Run(c4Gz));

        // 2. Loader throughput: batches of 8 x 2048 drawn as fast as possible (tokenizing on the loader's thread).
        report.AppendLine($"\n| loader (seq_len {SeqLen}, local batch {LocalBatch}) | tokens/s |\n|---|---:|");
        string bin = Path.Combine(Path.GetTempPath(), $"sharptitan-bench-{Environment.ProcessId}.bin");
        using (var writer = new TokenFileWriter(bin, tokenizers[1].Tokenizer)) foreach (var d in docs) writer.Add(d);
        var loaders = new (string Name, DataSpec Spec, ITokenizer Tokenizer)[]
        {
            ("streamed C4 sample, byte-level", new DataSpec("c4_test", c4), tokenizers[0].Tokenizer),
            ("streamed C4 sample, tiktoken", new DataSpec("c4_test", c4), tokenizers[1].Tokenizer),
            ("streamed C4 sample .json.gz, tiktoken", new DataSpec("c4_test", c4Gz), tokenizers[1].Tokenizer),
            ("streamed C4 sample, cl100k_base", new DataSpec("c4_test", c4), tokenizers[2].Tokenizer),
            ("prepared token file (memory-mapped), tiktoken", new DataSpec("x", bin), tokenizers[1].Tokenizer),
        };
        double tiktokenLoaderTps = 0;
        foreach (var (name, spec, t) in loaders)
        {
            using var loader = DataPipeline.CreateLoader(spec, t, SeqLen, LocalBatch);
            loader.Next();
            var sw = Stopwatch.StartNew();
            int batches = 0;
            while (sw.Elapsed.TotalSeconds < 3) { loader.Next(); batches++; }
            double tps = (double)batches * LocalBatch * SeqLen / sw.Elapsed.TotalSeconds;
            if (name == "streamed C4 sample, tiktoken") tiktokenLoaderTps = tps;
            report.AppendLine($"| {name} | {tps:N0} |");
            Console.WriteLine($"loader {name}: {tps:N0} tokens/s");
        }
        File.Delete(bin);
        File.Delete(TokenFile.IndexPath(bin));

        // 3. What the debug model consumes: the trainer's own metrics line (tps and data_wait) on the same stream.
        if (trainSteps == 0)
        {
            string partial = Path.Combine(resultsDir, "data.md");
            File.WriteAllText(partial, report.ToString());
            Console.WriteLine($"wrote {partial} (no training: data-train-steps 0)");
            return 0;
        }
        var config = new JobConfig();
        config.Model.Flavor = "debugmodel";
        config.Model.TokenizerPath = tiktokenPath;
        config.Training.Dataset = "c4_test";
        config.Training.DatasetPath = c4;
        config.Training.SeqLen = SeqLen;
        config.Training.LocalBatchSize = LocalBatch;
        config.Training.Steps = trainSteps;
        config.ActivationCheckpoint.Mode = ActivationCheckpointMode.None;
        config.Metrics.LogFreq = 1;
        config.Metrics.DisableColorPrinting = true;
        config.Debug.Seed = 0;
        var log = new StringWriter();
        using (var trainer = new Trainer(config, log)) trainer.Run();
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

        string outPath = Path.Combine(resultsDir, "data.md");
        File.WriteAllText(outPath, report.ToString());
        Console.WriteLine($"wrote {outPath}");
        return 0;
    }
}
