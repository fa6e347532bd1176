using SharpTitan.Metrics;
using System.Diagnostics;
using SharpTitan.Checkpoint.HuggingFace;
using SharpTitan.Config;
using SharpTitan.Data;
using SharpTitan.Distributed;
using SharpTitan.IO;
using SharpTitan.Native;
using SharpTitan.Optim;
using SharpTitan.Parallel;
using static TorchSharp.torch;

namespace SharpTitan.Checkpoint;

/// <summary>
/// The trainer's view of [checkpoint]: loads at start (torchtitan's semantics: the latest step-N, or load_step,
/// else initial_load_path), saves every interval steps, at step 1 with enable_first_step_checkpoint and at the
/// last step (model only in export_dtype with last_save_model_only), synchronously or on a background thread
/// (async_mode = "async": the state is cloned, then written while training goes on). A step-0 checkpoint (the seed
/// that create_seed_checkpoint writes on one process) loads as model only. With tensor parallel each rank saves
/// and loads its blocks of the global tensors, and the norms (replicated) are written by TP rank 0 only.
/// </summary>
public sealed class Checkpointer : IDisposable
{
    private static readonly string[] ExcludableKeys = ["model", "optimizer", "lr_scheduler", "dataloader", "train_state"];
    private readonly JobConfig _config;
    private readonly CheckpointSection _c;
    private readonly IProcessGroup _world;
    private readonly IModelParts _parts;
    private readonly AdamW _optimizer;
    private readonly TextWriter _log;
    private readonly CheckpointWriter _writer;
    /// <summary>The tokenizer files every save carries, read at the start (rank 0, which writes them).</summary>
    private readonly IReadOnlyList<CarriedFile> _tokenizer;
    private Task? _pending;

    public string Root { get; }
    /// <summary>Seconds the training loop was stopped by each save (the whole save when synchronous).</summary>
    public List<double> Stalls { get; } = [];
    /// <summary>Of each stall, the seconds spent waiting for the previous background save to finish.</summary>
    public List<double> Waits { get; } = [];
    /// <summary>Seconds the start-up load took (0 when nothing was loaded).</summary>
    public double LoadSeconds { get; private set; }

    /// <param name="parts">The model as parallelized: what it holds is saved and loaded as global tensors.</param>
    public Checkpointer(JobConfig config, IProcessGroup world, IModelParts parts, AdamW optimizer, TextWriter log)
    {
        (_config, _c, _world, _parts, _optimizer, _log) = (config, config.Checkpoint, world, parts, optimizer, log);
        if (_c.CreateSeedCheckpoint && world.Size > 1)
            throw new ConfigException($"checkpoint.create_seed_checkpoint runs on one process (this job has {world.Size} ranks): the seed holds the unsharded model, which any layout then loads");
        foreach (var key in _c.ExcludeFromLoading)
            if (!ExcludableKeys.Contains(key))
                throw new ConfigException($"checkpoint.exclude_from_loading: unknown key \"{key}\" (expected {string.Join(", ", ExcludableKeys)})");
        Root = Path.Combine(config.Job.DumpFolder, _c.Folder);
        _writer = new CheckpointWriter(Root, world, _c.KeepLatestK, TimeSpan.FromSeconds(config.Comm.TrainTimeoutSeconds));
        _tokenizer = world.Rank == 0 ? CheckpointTokenizer.Read(config.Model) : [];
        if (world.Rank == 0)
        {
            try { Directory.CreateDirectory(Root); }
            catch (Exception e) when (StorageException.IsFileSystemError(e))
            {
                throw StorageException.For("checkpoint folder: cannot create", Root, e);
            }
        }
        world.Barrier();
    }

    /// <summary>Loads the checkpoint to resume from, if any (collective). Returns the step done and the loader state.</summary>
    public ResumePoint LoadAtStart()
    {
        var resume = LoadFromFolder();
        // A killed run's unfinished saves are removed once every rank has chosen (the load is collective).
        if (_world.Rank == 0)
            foreach (var name in CheckpointFolder.RemoveUnfinished(Root))
                _log.WriteLine($"checkpoint: removed {Path.Combine(Root, name)}, an unfinished save");
        return resume;
    }

    private ResumePoint LoadFromFolder()
    {
        var steps = CheckpointFolder.CompleteSteps(Root);
        if (_c.LoadStep != -1 || steps.Count > 0)
        {
            int step = _c.LoadStep != -1 ? _c.LoadStep : LatestToResume(steps);
            var folder = CheckpointFolder.Resolve(Root, step);
            if (step != 0) return LoadFull(folder);
            LoadModel(folder); // torchtitan: step 0 is a seed checkpoint, loaded as model only
            return new ResumePoint(0, null);
        }
        foreach (var note in CheckpointFolder.SkippedNewer(Root, -1)) _log.WriteLine($"checkpoint: {note}");
        if (_c.InitialLoadPath is { } initial)
        {
            if (_c.InitialLoadInHf)
            {
                LoadHf(initial);
                return new ResumePoint(0, null);
            }
            var folder = CheckpointFolder.ResolveUserPath(initial);
            if (!_c.InitialLoadModelOnly) return LoadFull(folder);
            LoadModel(folder);
        }
        return new ResumePoint(0, null);
    }

    /// <summary>
    /// The step to resume from: the newest complete one, unless it holds the model only (a last save with
    /// last_save_model_only) and a full-state one exists: then the newest full-state one, so the run continues
    /// where its optimizer and data left off instead of starting over. Logs every newer folder it passes and why.
    /// </summary>
    private int LatestToResume(List<int> steps)
    {
        int newest = steps[^1], chosen = newest;
        if (newest != 0 && !CheckpointFolder.IsFullState(Root, newest))
        {
            CheckpointMetadata.Read(Path.Combine(CheckpointFolder.StepPath(Root, newest), CheckpointMetadata.FileName)); // damaged: say so
            if (CheckpointFolder.NewestFullState(Root, steps) is int full)
            {
                chosen = full;
                _log.WriteLine($"checkpoint: step-{newest} holds the model only (last_save_model_only); resuming from step-{full}, " +
                               "the newest checkpoint with the optimizer, data loader and training state");
            }
            else
                _log.WriteLine($"checkpoint: step-{newest} holds the model only (last_save_model_only) and no full-state checkpoint exists: " +
                               "its weights are loaded and training starts at step 1 with a fresh optimizer");
        }
        foreach (var note in CheckpointFolder.SkippedNewer(Root, chosen)) _log.WriteLine($"checkpoint: {note}");
        return chosen;
    }

    private bool Excluded(string key) => _c.ExcludeFromLoading.Contains(key);

    private ResumePoint LoadFull(string folder)
    {
        var sw = Stopwatch.StartNew();
        var meta = CheckpointMetadata.Read(Path.Combine(folder, CheckpointMetadata.FileName));
        bool withOptimizer = !meta.ModelOnly && !Excluded("optimizer");
        using var scope = NewDisposeScope();
        var prefixes = new List<string>();
        if (!Excluded("model")) prefixes.Add(TrainingState.Model);
        if (withOptimizer) prefixes.AddRange([TrainingState.ExpAvg, TrainingState.ExpAvgSq]);
        var targets = TrainingState.Pieces(_parts, _optimizer, withOptimizer)
            .Where(p => prefixes.Any(p.Name.StartsWith)).ToList();
        var rng = random.get_rng_state();
        var rngPiece = TrainingState.Whole($"rng.rank{_world.Rank}", rng);
        CheckpointReader.Load(folder, TrainingState.GlobalShapes(_parts, withOptimizer), [.. prefixes], targets, _world,
            meta.ModelOnly || Excluded("train_state") ? null : [rngPiece]);
        if (!meta.ModelOnly && !Excluded("train_state") && meta.Tensors.Any(t => t.Name == rngPiece.Name)) random.set_rng_state(rng);
        if (withOptimizer) _optimizer.StepCount = meta.OptimizerStep;
        _parts.ParametersUpdated(); // compute copies follow the loaded parameters
        int step = meta.ModelOnly || Excluded("train_state") ? 0 : meta.Step;
        int scheduled = meta.ModelOnly || Excluded("lr_scheduler") ? 0 : meta.Step;
        var loader = meta.DataLoader != null && !meta.ModelOnly && !Excluded("dataloader") ? DataLoaderState.FromJson(meta.DataLoader, $"{folder} data loader state") : null;
        LoadSeconds = sw.Elapsed.TotalSeconds;
        _log.WriteLine($"checkpoint: loaded {folder} ({(meta.ModelOnly ? "model only" : withOptimizer ? "model, optimizer" : "model")}" +
                       $"{(loader != null ? ", data loader" : "")}{(scheduled == meta.Step ? ", lr schedule" : "")}; saved by {meta.WorldSize} rank(s)) " +
                       $"in {sw.Elapsed.TotalSeconds:F2} s; resuming after step {step}");
        return new ResumePoint(step, loader, step - scheduled);
    }

    private void LoadModel(string folder)
    {
        using var scope = NewDisposeScope();
        var targets = TrainingState.Pieces(_parts, null, withOptimizer: false);
        CheckpointReader.Load(folder, TrainingState.GlobalShapes(_parts, false), [TrainingState.Model], targets, _world);
        _parts.ParametersUpdated();
        _log.WriteLine($"checkpoint: initial weights loaded from {folder}");
    }

    /// <summary>checkpoint.initial_load_in_hf: weights from a Hugging Face Llama folder (every rank reads the files).</summary>
    private void LoadHf(string folder)
    {
        var sw = Stopwatch.StartNew();
        using var scope = NewDisposeScope();
        var full = HfCheckpoint.Import(folder, _parts.Model.Args);
        CheckpointReader.CheckMatch($"Hugging Face model {folder}", full.ToDictionary(kv => TrainingState.Model + kv.Key, kv => kv.Value.shape),
            TrainingState.GlobalShapes(_parts, false), [TrainingState.Model]);
        using (no_grad())
            foreach (var p in TrainingState.Pieces(_parts, null, withOptimizer: false))
                p.Slice().copy_(p.Cut(full[p.Name[TrainingState.Model.Length..]]));
        _parts.ParametersUpdated();
        _log.WriteLine($"checkpoint: initial weights loaded from Hugging Face {folder} in {sw.Elapsed.TotalSeconds:F2} s");
    }

    /// <summary>After a training step: saves when the interval, the first step or the last step asks for it.</summary>
    public void AfterStep(int step, int lastStep, Func<DataLoaderState> loaderState)
    {
        if (_pending is { IsCompleted: true }) WaitPending(); // a failed background save ends the run now, not at the next save
        bool last = step == lastStep;
        if (!(last || step % _c.Interval == 0 || (step == 1 && _c.EnableFirstStepCheckpoint))) return;
        if (last) SaveLast(step, loaderState().ToJson());
        else Save(step, false, loaderState().ToJson());
    }

    /// <summary>A stop on request after <paramref name="step"/>: a full-state save whatever the interval, waited for.</summary>
    public void SaveNow(int step, Func<DataLoaderState> loaderState)
    {
        Save(step, false, loaderState().ToJson());
        Finish();
    }

    // torchtitan's last-step save: a Hugging Face folder, the model only in export_dtype, or everything.
    private void SaveLast(int step, string? loader)
    {
        if (_c.LastSaveInHf) SaveHuggingFace(step);
        else Save(step, _c.LastSaveModelOnly, loader);
    }

    /// <summary>
    /// checkpoint.last_save_in_hf: the final model as a Hugging Face folder step-N (safetensors, config.json,
    /// generation_config.json and the tokenizer files, in export_dtype; see <see cref="HfCheckpoint.Export"/>). It has no metadata.json, so resuming never picks it; `convert --from hf` or
    /// initial_load_in_hf reads it back. Written to a temporary folder and renamed, as every save.
    /// </summary>
    private void SaveHuggingFace(int step)
    {
        WaitPending();
        if (KeepsFullState(step, "a Hugging Face export (convert --to hf makes one from it)")) return;
        var sw = Stopwatch.StartNew();
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            // Gathering the full tensors is collective: every rank takes part, rank 0 writes.
            var parameters = _parts.FullParameters();
            if (_world.Rank == 0)
            {
                string final = CheckpointFolder.StepPath(Root, step), temp = final + ".tmp-hf";
                try
                {
                    if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
                    HfCheckpoint.Export(parameters.ToDictionary(p => p.Name, p => p.Value), _parts.Model.Args,
                        ModelAssets.TokenizerPath(_config.Model), temp, _c.ExportDtype.ToScalarType());
                    FolderSwap.Replace(temp, final, final + ".tmp-old");
                }
                catch (Exception e) when (StorageException.IsFileSystemError(e))
                {
                    RemoveQuietly(temp);
                    throw StorageException.For($"checkpoint step {step} (Hugging Face): cannot write", temp, e);
                }
            }
        }
        _world.Barrier();
        _log.WriteLine($"checkpoint: saved step {step} in Hugging Face format ({_c.ExportDtype.ToConfigString()}) to {CheckpointFolder.StepPath(Root, step)} in {sw.Elapsed.TotalSeconds:F3} s");
    }

    /// <summary>
    /// checkpoint.create_seed_checkpoint (one process): the initialized model saved as step 0 the way the last step
    /// is saved (torchtitan's save(curr_step=0, last_step=True)); a later run of any layout loads it as model only.
    /// </summary>
    public void SaveSeed()
    {
        SaveLast(0, null);
        Finish();
    }

    /// <summary>A model-only save never replaces a full-state checkpoint of the same step (a resumed run's last step).</summary>
    private bool KeepsFullState(int step, string what)
    {
        if (!CheckpointFolder.IsFullState(Root, step)) return false;
        _log.WriteLine($"checkpoint: step-{step} already holds a full-state checkpoint; not replacing it with {what}");
        return true;
    }

    private void Save(int step, bool modelOnly, string? loader)
    {
        var sw = Stopwatch.StartNew();
        WaitPending();
        if (modelOnly && KeepsFullState(step, "a model-only save")) return;
        Waits.Add(sw.Elapsed.TotalSeconds);
        var exportDtype = modelOnly ? _c.ExportDtype.ToScalarType() : (ScalarType?)null;
        var info = new SaveInfo(step, modelOnly, _optimizer.StepCount, loader, ConfigPrinter.ToToml(_config), _tokenizer);
        bool background = _c.AsyncMode == CheckpointAsyncMode.Async;
        var data = new List<(StatePiece, Tensor)>();
        string temp = _writer.Begin(step);
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            var pieces = TrainingState.Pieces(_parts, _optimizer, withOptimizer: !modelOnly, forSave: true);
            if (!modelOnly) pieces.Add(TrainingState.Whole($"rng.rank{_world.Rank}", random.get_rng_state()));
            foreach (var p in pieces)
            {
                var slice = p.Slice();
                var d = exportDtype is { } t && slice.dtype != t ? slice.to(t) : background ? slice.clone() : slice;
                data.Add((p, d.DetachFromDisposeScope()));
            }
        }
        // A progress line for synchronous saves on rank 0 at a terminal (a background save would cut into the metrics lines).
        var progress = !background && _world.Rank == 0
            ? ProgressBar.ForConsole($"checkpoint step-{step}", data.Sum(d => d.Item2.numel() * d.Item2.ElementSize))
            : null;
        void Write()
        {
            try
            {
                _writer.WriteRank(temp, data, progress);
                if (_world.Rank == 0) _writer.Complete(temp, info);
            }
            catch (Exception e) when (StorageException.IsFileSystemError(e))
            {
                // The previous checkpoints are untouched (nothing is renamed or pruned before the new one is complete).
                RemoveQuietly(temp);
                throw StorageException.For($"checkpoint step {step}{(background ? " (written in the background)" : "")}: cannot write", temp, e);
            }
            finally { foreach (var (_, d) in data) d.Dispose(); }
        }
        if (background)
        {
            _pending = Task.Run(Write);
            Stalls.Add(sw.Elapsed.TotalSeconds);
            _log.WriteLine($"checkpoint: step {step} copied off in {sw.Elapsed.TotalSeconds:F3} s; writing in the background");
            return;
        }
        Write();
        _world.Barrier();
        Stalls.Add(sw.Elapsed.TotalSeconds);
        _log.WriteLine($"checkpoint: saved step {step}{(modelOnly ? $" (model only, {_c.ExportDtype.ToConfigString()})" : "")} to {CheckpointFolder.StepPath(Root, step)} in {sw.Elapsed.TotalSeconds:F3} s");
    }

    /// <summary>
    /// Waits for this rank's background save and rethrows its failure. Not under the watchdog: a large save may
    /// outlast the timeout on every rank at once. A rank whose own write stalls is caught by the others' timeouts
    /// (rank 0's commit wait or the next collective).
    /// </summary>
    private void WaitPending()
    {
        if (_pending == null) return;
        var t = _pending;
        _pending = null;
        t.GetAwaiter().GetResult();
    }

    /// <summary>Best effort: a failed save leaves no partial folder behind (another rank may be removing it too).</summary>
    private static void RemoveQuietly(string folder)
    {
        try { if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true); }
        catch (Exception e) when (StorageException.IsFileSystemError(e) || e is DirectoryNotFoundException or FileNotFoundException) { }
    }

    /// <summary>Waits for a background save and for every rank (call at the end of training).</summary>
    public void Finish()
    {
        WaitPending();
        _world.Barrier();
    }

    public void Dispose()
    {
        try { _pending?.Wait(); } catch (AggregateException) { }
    }
}
