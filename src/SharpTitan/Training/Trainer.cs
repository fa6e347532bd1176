using System.Diagnostics;
using SharpTitan.Checkpoint;
using SharpTitan.Config;
using SharpTitan.Data;
using SharpTitan.Distributed;
using SharpTitan.Distributed.Nccl;
using SharpTitan.Metrics;
using SharpTitan.Models.Llama3;
using SharpTitan.Native;
using SharpTitan.Optim;
using SharpTitan.Parallel;
using static TorchSharp.torch;

namespace SharpTitan.Training;

/// <summary>
/// The training loop: data -> forward -> loss -> backward (with gradient accumulation) -> clip -> optimizer ->
/// lr schedule -> metrics. Each step runs in its own dispose scope so native memory stays flat.
/// </summary>
public sealed class Trainer : IDisposable
{
    private readonly JobConfig _config;
    private readonly TextWriter _log;
    private readonly IModelParts _parts;
    private readonly AdamW _optimizer;
    private readonly LrSchedule _schedule;
    private readonly DataLoader _loader;
    private readonly Validator? _validator;
    private readonly int _accumulationSteps;
    private readonly ThroughputMeter _meter;
    private readonly RunRecorder _recorder;
    private readonly IProcessGroup _world;
    private readonly DeviceMesh? _mesh;
    private readonly IProcessGroup? _gpuWorld;
    private readonly Checkpointer? _checkpointer;
    private readonly int _startStep, _lrStepOffset;
    private readonly long _tokensPerStep;

    public ModelArgs ModelArgs { get; }
    /// <summary>The model as parallelized: what the loop, checkpoints, validation and dumps talk to.</summary>
    public IModelParts Parts => _parts;
    public Transformer Model => _parts.Model;
    /// <summary>The optimizer (benchmarks time the step's phases through it and <see cref="Parts"/>).</summary>
    internal AdamW Optimizer => _optimizer;
    public Peak Peak { get; }

    /// <summary>
    /// Graceful stop: checked (and agreed between the ranks) at the end of every step but the last; null = never stop
    /// early. The CLI's train verb installs one that listens to SIGTERM, SIGINT and SIGUSR1.
    /// </summary>
    public StopRequest? Stop { get; init; }

    /// <summary>The step after which <see cref="Stop"/> ended the run (its checkpoint saved when enabled), else null.</summary>
    public int? StoppedAfterStep { get; private set; }

    /// <summary>Saves and loads checkpoints when checkpoint.enable, else null.</summary>
    public Checkpointer? Checkpointer => _checkpointer;

    /// <summary>The tensors the optimizer updates (FSDP shards, fp32 masters, or the model's parameters).</summary>
    public IReadOnlyList<Tensor> OptimizerParameters => _optimizer.Parameters;

    /// <param name="modelArgs">A model shape other than the configured flavor's (benchmarks, experiments).</param>
    /// <param name="world">The ranks of the job; null = <see cref="DistributedRuntime.Initialize"/> (one process without mpirun).</param>
    public Trainer(JobConfig config, TextWriter? log = null, ModelArgs? modelArgs = null, IProcessGroup? world = null)
    {
        _config = config;
        _log = TextWriter.Synchronized(log ?? Console.Out); // the data loader's thread logs too
        TorchRuntime.SetThreads(config.Training.NumThreads);
        _world = world ?? DistributedRuntime.Initialize();
        var plan = JobCheck.Run(config, _world.Size, modelArgs);
        var dims = plan.Dims;
        if (DistributedRuntime.Watchdog is { } watchdog)
        {
            watchdog.InitTimeout = TimeSpan.FromSeconds(config.Comm.InitTimeoutSeconds);
            watchdog.TrainTimeout = TimeSpan.FromSeconds(config.Comm.TrainTimeoutSeconds);
        }
        var device = plan.Device;
        // On GPUs the transforms' collectives are NCCL's, or MPI's through host memory when ranks share a GPU (MPI stays
        // the launcher, bootstrap and host-side group).
        if (dims.DpEnabled || dims.TpEnabled || dims.CpEnabled || dims.PpEnabled)
        {
            var meshWorld = ComputeDevice.IsCuda(device) ? _gpuWorld = GpuWorld.Create(_world, device, _log.WriteLine) : _world;
            // Not disposed: the mesh disposes the groups split from it, and the world it wraps is not ours.
            if (config.Debug.EmulateNcclP2p && !meshWorld.MatchesByOrder)
            {
                meshWorld = new NcclRulesProcessGroup(meshWorld);
                _log.WriteLine("collectives: sends and receives under NCCL's rules (debug.emulate_nccl_p2p): matched by order alone, one batch at a time");
            }
            _mesh = new DeviceMesh(dims, meshWorld);
        }

        long seed = config.Debug.Seed ?? Random.Shared.Next();
        manual_seed(seed);
        // torchtitan's set_determinism; libtorch's CPU kernels are deterministic for a fixed thread count anyway.
        Determinism.Set(config.Debug.Deterministic);

        var tokenizer = plan.Tokenizer;
        ModelArgs = plan.ModelArgs;
        var dtype = config.Training.Dtype.ToScalarType();
        var model = new Transformer(ModelArgs);
        model.InitWeights(); // same seed on every rank: identical full weights, which the transforms then split
        _parts = Llama3Parallelize.Apply(model, config, dims, _mesh, device, _log.WriteLine);

        var o = config.Optimizer;
        _optimizer = new AdamW(_parts.OptimizerParameters, o.Lr, o.Beta1, o.Beta2, o.Eps, o.WeightDecay, decoupled: o.Name == OptimizerName.AdamW);
        var s = config.LrScheduler;
        _schedule = new LrSchedule(config.Training.Steps, s.WarmupSteps, s.DecayRatio, s.DecayType.ToConfigString(), s.MinLrFactor);

        ResumePoint? resume = null;
        if (config.Checkpoint.Enable)
        {
            _checkpointer = new Checkpointer(config, _world, _parts, _optimizer, _log);
            resume = _checkpointer.LoadAtStart();
        }
        _startStep = resume?.Step ?? 0;
        _lrStepOffset = resume?.LrStepOffset ?? 0;

        int local = config.Training.LocalBatchSize;
        int dpDegree = _mesh?.DpDegree ?? 1;
        int global = plan.GlobalBatch;
        _accumulationSteps = plan.AccumulationSteps;
        _tokensPerStep = (long)global * config.Training.SeqLen;

        _loader = DataPipeline.CreateLoader(plan.TrainingData, tokenizer, config.Training.SeqLen, local, _mesh?.DpRank ?? 0, dpDegree,
            log: m => _log.WriteLine(m), resume: resume?.DataLoader);
        if (config.Validation.Enable) _validator = new Validator(config.Validation, config.Training.SeqLen, plan.Text, tokenizer, _log);

        Peak = PeakFlops.Resolve(config.Metrics.PeakTflops, _parts.ComputeDtype, get_num_threads(), device: _parts.Device);
        _meter = new ThroughputMeter(ModelArgs.FlopsPerToken(config.Training.SeqLen), Peak.TflopsPerSecond, dims.NonDataParallelSize,
            DeviceMemory.For(_parts.Device));
        _recorder = new RunRecorder(config, _log, _world.Rank, resumed: _startStep > 0);

        LogSetup(seed, global);
    }

    private void LogSetup(long seed, int global)
    {
        var a = ModelArgs;
        _log.WriteLine($"model: llama3 {_config.Model.Flavor} (dim {a.Dim}, {a.NLayers} layers, {a.NHeads} heads, {a.KvHeads} kv heads, " +
                       $"ffn {a.FfnHiddenDim}, vocab {a.VocabSize} from the tokenizer), {a.ParameterCount():N0} parameters, " +
                       $"{a.FlopsPerToken(_config.Training.SeqLen):E3} FLOPs per token at seq_len {_config.Training.SeqLen}");
        _log.WriteLine($"training: master weights {_parts.OptimizerParameters[0].dtype.TorchName()}, compute {_parts.ComputeDtype.TorchName()}, " +
                       $"{get_num_threads()} torch thread(s), local batch {_config.Training.LocalBatchSize}, " +
                       $"global batch {global} ({_accumulationSteps} micro-step(s)), {_config.Training.Steps} steps, seed {seed}");
        foreach (var line in _parts.Describe()) _log.WriteLine(line);
        if (_parts.ReportsMfu) _log.WriteLine($"MFU peak: {Peak.TflopsPerSecond:F3} TFLOP/s ({Peak.Source})");
        if (_recorder.TensorBoard != null) _log.WriteLine($"tensorboard: {_recorder.TensorBoard.RunFolder}");
        if (_recorder.MetricsFile != null) _log.WriteLine($"metrics: {_recorder.MetricsFile} (run {_recorder.MetricsRun})");
    }

    public static ScalarType ParseDtype(string name) =>
        ConfigEnum.TryParse<Dtype>(name, out var d) && d is Dtype.Float32 or Dtype.BFloat16
            ? d.ToScalarType()
            : throw new ConfigException($"unknown dtype \"{name}\": expected float32 or bfloat16");

    /// <summary>Runs training.steps steps; returns each step's loss, gradient norm and lr.</summary>
    public IReadOnlyList<StepResult> Run()
    {
        var results = new List<StepResult>();
        if (_checkpointer != null && _config.Checkpoint.CreateSeedCheckpoint)
        {
            _checkpointer.SaveSeed();
            return results;
        }
        var clock = Stopwatch.StartNew();
        for (int step = _startStep + 1; step <= _config.Training.Steps; step++)
        {
            _recorder.BeginStep(step);
            var r = TrainStepExplainingOom(step);
            results.Add(r);
            if (step == _startStep + 1) DistributedRuntime.Watchdog?.BeginTraining();
            if (step == 1 || step % _config.Metrics.LogFreq == 0 || step == _config.Training.Steps)
            {
                ComputeDevice.Synchronize(_parts.Device); // the interval ends when the device has run the step, not when it was queued
                _recorder.Log(_meter.Snapshot(step, _config.Training.Steps, r.Loss, r.GradNorm, r.Lr, reportMfu: _parts.ReportsMfu));
            }
            if (_validator != null && step % _config.Validation.Freq == 0)
                _recorder.LogValidation(step, _validator.Run(_parts, step));
            if (step < _config.Training.Steps && Stop != null && Stop.AgreeAfterStep(step, _world))
            {
                StopAfter(step);
                _recorder.EndStep(step, TrainingStateBytes);
                break;
            }
            using (Tracer.Begin("checkpoint")) _checkpointer?.AfterStep(step, _config.Training.Steps, () => _loader.State);
            _recorder.EndStep(step, TrainingStateBytes);
            if (step % _config.Training.GcFreq == 0) GC.Collect();
        }
        _checkpointer?.Finish();
        var wall = clock.Elapsed;
        foreach (var line in _parts.Summarize(results.Count, wall).Concat(Summary(results, wall).Lines())) _log.WriteLine(line);
        if (_config.Debug.DumpResultsFolder is { } dump) DumpResults(dump, results);
        return results;
    }

    private RunSummary Summary(List<StepResult> results, TimeSpan wall)
    {
        var outputs = _recorder.Outputs().ToList();
        if (_checkpointer != null) outputs.Add(("checkpoints", _checkpointer.Root));
        return new RunSummary(results.Select(r => (r.Step, r.Loss)).ToList(), results.Count * _tokensPerStep, wall,
            _meter.Mean(wall.TotalSeconds, _parts.ReportsMfu), outputs);
    }

    /// <summary>The ranks agreed to stop after <paramref name="step"/>: a full-state save (when enabled), then the loop ends.</summary>
    private void StopAfter(int step)
    {
        StoppedAfterStep = step;
        var (checks, median, min) = Stop!.Cost;
        _log.WriteLine($"stop requested ({Stop.Reason}): stopping after step {step} of {_config.Training.Steps}" +
                       (checks > 0 ? $" (agreed at each step boundary: {checks} checks, median {median:F0} us, min {min:F0} us)" : ""));
        if (_checkpointer == null) _log.WriteLine("checkpoint.enable is off: nothing saved; the next start begins at step 1");
        else using (Tracer.Begin("checkpoint")) _checkpointer.SaveNow(step, () => _loader.State);
    }

    private StepResult TrainStepExplainingOom(int step)
    {
        try { return TrainStep(step); }
        catch (Exception e) when (DeviceOutOfMemoryException.IsOutOfMemory(e))
        {
            var memory = DeviceMemory.For(_parts.Device);
            throw DeviceOutOfMemoryException.At(step, e, memory.PeakBytes() / (double)(1L << 30), memory.CapacityBytes() / (double)(1L << 30));
        }
    }

    public StepResult TrainStep(int step)
    {
        using var stepSpan = Tracer.Begin("step");
        using var scope = NewDisposeScope();
        double lr = _config.Optimizer.Lr * _schedule.Factor(step - 1 - _lrStepOffset);
        _optimizer.Lr = lr;
        _optimizer.ZeroGrad();
        double lossSum = 0;
        for (int micro = 0; micro < _accumulationSteps; micro++)
        {
            var wait = Stopwatch.StartNew();
            Batch batch;
            using (Tracer.Begin("data_wait")) batch = _loader.Next();
            _meter.AddDataWait(wait.Elapsed.TotalSeconds);
            using var microScope = NewDisposeScope();
            var inputs = tensor(batch.Inputs, [batch.Rows, batch.SeqLen], device: _parts.Device);
            var labels = tensor(batch.Labels, [batch.Rows * batch.SeqLen], device: _parts.Device);
            lossSum += _parts.ForwardBackward(inputs, labels, _accumulationSteps);
            _meter.AddTokens((long)batch.Rows * batch.SeqLen);
        }
        lossSum = _parts.ReportedLoss(lossSum);
        double gradNorm;
        using (Tracer.Begin("clip_grad_norm"))
            gradNorm = GradientClipping.ClipToGlobalSumOfSquares(_optimizer.Parameters, _config.Training.MaxNorm, _parts.GradientSumOfSquares());
        if (!double.IsFinite(lossSum)) throw new TrainingDivergedException($"step {step}: the loss is {lossSum} (not finite); stopping");
        if (!double.IsFinite(gradNorm)) throw new TrainingDivergedException($"step {step}: the gradient norm is {gradNorm} (not finite); stopping");
        using (Tracer.Begin("optimizer"))
        {
            _optimizer.Step();
            _parts.ParametersUpdated();
        }
        return new StepResult(step, lossSum, gradNorm, lr);
    }

    /// <summary>Bytes of parameters, their gradients and the optimizer state (what a memory snapshot reports).</summary>
    private long TrainingStateBytes()
    {
        using var scope = NewDisposeScope();
        long bytes = 0;
        foreach (var p in _optimizer.Parameters) bytes += p.NumberOfElements * p.ElementSize + (p.grad is { } g ? g.NumberOfElements * g.ElementSize : 0);
        foreach (var t in _optimizer.ExpAvg.Concat(_optimizer.ExpAvgSq)) bytes += t.NumberOfElements * t.ElementSize;
        return bytes;
    }

    /// <summary>debug.dump_results_folder: losses and full parameters from rank 0, per-rank memory from each.</summary>
    private void DumpResults(string folder, IReadOnlyList<StepResult> results)
    {
        using var scope = NewDisposeScope();
        var parameters = _parts.FullParameters(); // collective
        Directory.CreateDirectory(folder);
        long local = _optimizer.Parameters.Sum(t => t.numel());
        long grads = _optimizer.Parameters.Sum(t => t.grad is { } g ? g.numel() : 0);
        long state = _optimizer.ExpAvg.Sum(t => t.numel()) + _optimizer.ExpAvgSq.Sum(t => t.numel());
        File.WriteAllText(Path.Combine(folder, $"memory_rank{_world.Rank}.txt"),
            $"params {local}\ngrads {grads}\noptimizer_state {state}\ntotal_params {_parts.TotalParameters}\nmodel_param_elements {Model.parameters().Sum(t => t.numel())}\npeak_rss_bytes {ProcessMemory.PeakRssBytes()}\n");
        if (_world.Rank != 0) return;
        ResultDump.WriteLosses(folder, results.Select(r => r.Loss));
        ResultDump.WriteParameters(folder, parameters);
    }

    public void Dispose()
    {
        _checkpointer?.Dispose();
        _loader.Dispose();
        _recorder.Dispose();
        _optimizer.Dispose();
        _parts.Dispose();
        _mesh?.Dispose();
        _gpuWorld?.Dispose();
    }
}
