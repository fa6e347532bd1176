using System.Diagnostics;
using SharpTitan.Checkpoint;
using SharpTitan.Config;
using SharpTitan.Data;
using SharpTitan.Distributed;
using SharpTitan.Float8;
using SharpTitan.Metrics;
using SharpTitan.Models.Llama3;
using SharpTitan.Native;
using SharpTitan.Parallel;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace SharpTitan.Training;

/// <summary>
/// The training loop: data -> forward -> loss -> backward (with gradient accumulation) -> clip -> optimizer ->
/// lr schedule -> metrics. Each step runs in its own dispose scope so native memory stays flat.
/// </summary>
public sealed class Trainer : IDisposable
{
    private readonly JobConfig _config;
    private readonly TextWriter _log;
    private readonly Transformer _model;
    private readonly AdamW _optimizer;
    private readonly LrSchedule _schedule;
    private readonly DataLoader _loader;
    private readonly Validator? _validator;
    private readonly int _accumulationSteps;
    private readonly ThroughputMeter _meter;
    private readonly RunRecorder _recorder;
    private readonly IProcessGroup _world;
    private readonly DeviceMesh? _mesh;
    private readonly FsdpModel? _fsdp;
    private readonly IDisposable? _checkpointing;
    private readonly IMixedPrecision? _mixed;
    private readonly Checkpointer? _checkpointer;
    private readonly int _startStep, _lrStepOffset;
    private readonly TensorParallel? _tp;
    private readonly Float8Converter? _float8;
    private readonly AsyncTensorParallel? _asyncTp;

    public ModelArgs ModelArgs { get; }
    public Transformer Model => _model;
    public Peak Peak { get; }

    /// <summary>The FSDP/HSDP/DDP wrapper when data parallelism spans several ranks, else null.</summary>
    public FsdpModel? Fsdp => _fsdp;
    /// <summary>The tensor-parallel transform when tensor_parallel_degree > 1, else null.</summary>
    public TensorParallel? TensorParallel => _tp;
    /// <summary>The float8 linears when model.converters has "float8", else null.</summary>
    public Float8Converter? Float8 => _float8;

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
        FeatureGate.RequireBuilt(config);
        TorchRuntime.SetThreads(config.Training.NumThreads);
        _world = world ?? DistributedRuntime.Initialize();
        var p = config.Parallelism;
        var dims = new ParallelDims(p.DataParallelReplicateDegree, p.DataParallelShardDegree, p.ContextParallelDegree,
            p.TensorParallelDegree, p.PipelineParallelDegree, _world.Size);
        if (DistributedRuntime.Watchdog is { } watchdog)
        {
            watchdog.InitTimeout = TimeSpan.FromSeconds(config.Comm.InitTimeoutSeconds);
            watchdog.TrainTimeout = TimeSpan.FromSeconds(config.Comm.TrainTimeoutSeconds);
        }
        if (dims.DpEnabled || dims.TpEnabled) _mesh = new DeviceMesh(dims, _world);

        long seed = config.Debug.Seed ?? Random.Shared.Next();
        manual_seed(seed);
        // libtorch's CPU kernels give identical results for a fixed thread count; debug.deterministic needs no switch
        // here (TorchSharp has no use_deterministic_algorithms). A GPU build must set it.

        var tokenizer = TokenizerLoader.Load(config.Model.TokenizerPath);
        ModelArgs = (modelArgs ?? ModelFlavors.Llama3[config.Model.Flavor]) with
        {
            VocabSize = tokenizer.VocabSize,
            MaxSeqLen = config.Training.SeqLen,
        };
        var dtype = config.Training.Dtype.ToScalarType();
        _model = new Transformer(ModelArgs);
        _model.InitWeights(); // same seed on every rank: identical full weights, which TP and FSDP then shard
        var tpOptions = new TensorParallelOptions(p.EnableSequenceParallel, !p.DisableLossParallel, p.EnableAsyncTensorParallel);
        TensorParallel.Validate(ModelArgs, dims.Tp, tpOptions, config.Training.SeqLen, config.Validation.Enable ? config.Validation.SeqLen : null);
        if (dims.TpEnabled) _tp = new TensorParallel(_model, _mesh!.Tp, tpOptions); // torchtitan's order: TP, AC, then FSDP
        // Float8 after TP (it sees the local shards and their split), before async TP wraps the kernels, AC and FSDP.
        if (Float8Options.Requested(config.Model)) _float8 = new Float8Converter(_model, Float8Options.From(config.Float8), _tp, _log.WriteLine);
        if (config.Model.PrintAfterConversion) _log.WriteLine(Models.ModelStructure.Describe(_model, "model after conversion"));
        // After model converters (Float8): async TP runs their kernels on each piece.
        if (_tp is { Options.AsyncTp: true }) _asyncTp = AsyncTensorParallel.Apply(_model, _tp);
        var ac = ActivationCheckpointPlan.For(config.ActivationCheckpoint, ModelArgs.NLayers);
        _checkpointing = ActivationCheckpointing.Apply(_model, ac, dataParallel: dims.DpEnabled);
        // As torchtitan: without FSDP, mixed precision applies to one process only (not to TP alone).
        _mixed = MixedPrecision.Apply(_model, config.Training, dtype, config.Training.MixedPrecisionParam.ToScalarType(), dataParallel: dims.DpEnabled || dims.TpEnabled);
        if (dims.DpEnabled)
        {
            if (dtype != ScalarType.Float32)
                throw new ConfigException($"training.dtype = {config.Training.Dtype.ToConfigString()} with data parallelism: FSDP keeps float32 shards; set training.mixed_precision_param for the compute dtype");
            _fsdp = new FsdpModel(_model, _mesh!, new FsdpOptions(p.FsdpReshardAfterForward,
                config.Training.MixedPrecisionParam.ToScalarType(), p.FsdpOverlap, _tp != null ? _tp.ReducePartialGradient : null, ac.FullLayers,
                _float8 is { Options.FsdpFloat8AllGather: true } ? _float8 : null, _float8?.Options.PrecomputeScales ?? false));
        }
        else if (dtype != ScalarType.Float32) _model.to(dtype);
        if (ac.Any) _log.WriteLine(ac.Describe(dataParallel: dims.DpEnabled));
        _model.train();

        var o = config.Optimizer;
        var parameters = _fsdp?.Shards ?? _mixed?.Masters ?? _model.parameters().Cast<Tensor>().ToList();
        _optimizer = new AdamW(parameters, o.Lr, o.Beta1, o.Beta2, o.Eps, o.WeightDecay, decoupled: o.Name == OptimizerName.AdamW);
        var s = config.LrScheduler;
        _schedule = new LrSchedule(config.Training.Steps, s.WarmupSteps, s.DecayRatio, s.DecayType.ToConfigString(), s.MinLrFactor);

        ResumePoint? resume = null;
        if (config.Checkpoint.Enable)
        {
            _checkpointer = new Checkpointer(config, _world, _model, _fsdp, _optimizer, _log, _tp, _mixed);
            resume = _checkpointer.LoadAtStart();
        }
        _startStep = resume?.Step ?? 0;
        _lrStepOffset = resume?.LrStepOffset ?? 0;

        int local = config.Training.LocalBatchSize;
        int dpDegree = _mesh?.DpDegree ?? 1;
        int global = config.Training.GlobalBatchSize == -1 ? local * dpDegree : config.Training.GlobalBatchSize;
        if (global % (local * dpDegree) != 0)
            throw new ConfigException($"'training.global_batch_size' = {global}: expected a multiple of training.local_batch_size ({local}) x the data-parallel degree ({dpDegree})");
        _accumulationSteps = global / (local * dpDegree);

        var text = new TextOptions(config.Training.DatasetTextField, config.Training.DatasetTxtSplit == TxtDocumentSplit.BlankLines);
        _loader = DataPipeline.CreateLoader(new DataSpec(config.Training.Dataset, config.Training.DatasetPath, "training", text),
            tokenizer, config.Training.SeqLen, local, _mesh?.DpRank ?? 0, dpDegree, log: m => _log.WriteLine(m), resume: resume?.DataLoader);
        if (config.Validation.Enable) _validator = new Validator(config.Validation, config.Training.SeqLen, text, tokenizer, _log);

        Peak = PeakFlops.Resolve(config.Metrics.PeakTflops, _fsdp != null || _mixed != null ? config.Training.MixedPrecisionParam.ToScalarType() : dtype, get_num_threads());
        _meter = new ThroughputMeter(ModelArgs.FlopsPerToken(config.Training.SeqLen), Peak.TflopsPerSecond, dims.NonDataParallelSize);
        _recorder = new RunRecorder(config, _log, _world.Rank);

        LogSetup(seed, dtype, global);
    }

    private void LogSetup(long seed, ScalarType dtype, int global)
    {
        var a = ModelArgs;
        _log.WriteLine($"model: llama3 {_config.Model.Flavor} (dim {a.Dim}, {a.NLayers} layers, {a.NHeads} heads, {a.KvHeads} kv heads, " +
                       $"ffn {a.FfnHiddenDim}, vocab {a.VocabSize} from the tokenizer), {a.ParameterCount():N0} parameters, " +
                       $"{a.FlopsPerToken(_config.Training.SeqLen):E3} FLOPs per token at seq_len {_config.Training.SeqLen}");
        _log.WriteLine($"training: {PeakFlops.Name(dtype)}, {get_num_threads()} torch thread(s), local batch {_config.Training.LocalBatchSize}, " +
                       $"global batch {global} ({_accumulationSteps} micro-step(s)), {_config.Training.Steps} steps, seed {seed}");
        if (_tp != null)
            _log.WriteLine($"tensor parallel: degree {_tp.Group.Size}, sequence parallel {OnOff(_tp.Options.SequenceParallel)}, " +
                           $"loss parallel {OnOff(_tp.Options.LossParallel)}, async {OnOff(_tp.Options.AsyncTp)}");
        if (_fsdp != null)
        {
            _log.WriteLine($"parallelism: {_mesh!.Dims}, dp rank {_mesh.DpRank} of {_mesh.DpDegree}, fsdp_reshard_after_forward = " +
                           $"{_config.Parallelism.FsdpReshardAfterForward.ToConfigString()}, overlap {(_config.Parallelism.FsdpOverlap ? "on" : "off")}, " +
                           $"params in {_config.Training.MixedPrecisionParam.ToConfigString()}, reduce in {_config.Training.MixedPrecisionReduce.ToConfigString()}");
            _log.WriteLine(_fsdp!.MemorySummary());
        }
        if (_mixed != null) _log.WriteLine(_mixed.Describe());
        if (_float8 == null) _log.WriteLine($"MFU peak: {Peak.TflopsPerSecond:F3} TFLOP/s ({Peak.Source})");
        if (_recorder.TensorBoard != null) _log.WriteLine($"tensorboard: {_recorder.TensorBoard.RunFolder}");
        if (_recorder.MetricsFile != null) _log.WriteLine($"metrics: {_recorder.MetricsFile}");
    }

    private static string OnOff(bool on) => on ? "on" : "off";

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
        var tpCommAtStart = TpComm.Elapsed;
        for (int step = _startStep + 1; step <= _config.Training.Steps; step++)
        {
            _recorder.BeginStep(step);
            var r = TrainStep(step);
            results.Add(r);
            if (step == _startStep + 1) DistributedRuntime.Watchdog?.BeginTraining();
            if (step == 1 || step % _config.Metrics.LogFreq == 0 || step == _config.Training.Steps)
                _recorder.Log(_meter.Snapshot(step, _config.Training.Steps, r.Loss, r.GradNorm, r.Lr, reportMfu: _float8 == null));
            if (_validator != null && step % _config.Validation.Freq == 0)
                _recorder.LogValidation(step, _validator.Run(_model, step, EvaluationForward()));
            using (Tracer.Begin("checkpoint")) _checkpointer?.AfterStep(step, _config.Training.Steps, () => _loader.State);
            _recorder.EndStep(step, TrainingStateBytes);
            if (step % _config.Training.GcFreq == 0) GC.Collect();
        }
        _checkpointer?.Finish();
        if (_tp != null)
        {
            double comm = (TpComm.Elapsed - tpCommAtStart).TotalSeconds;
            _log.WriteLine($"tensor parallel: {comm:F2} s of {clock.Elapsed.TotalSeconds:F2} s {(_asyncTp != null ? "waiting for async TP collectives" : "in TP collectives")} over {results.Count} steps " +
                           $"({100 * comm / Math.Max(1e-9, clock.Elapsed.TotalSeconds):F1}%)");
        }
        if (_fsdp != null && results.Count > 0)
            _log.WriteLine($"fsdp: {_fsdp.AllGatherBytes / results.Count:N0} bytes of parameter all-gathers per rank per step" +
                           (_float8 is { Options.FsdpFloat8AllGather: true } ? " (float8 weights)" : ""));
        if (_config.Debug.DumpResultsFolder is { } dump) DumpResults(dump, results);
        return results;
    }

    // Validation needs full logits: FSDP gathers parameters, loss-parallel TP gathers the vocabulary shards.
    private Func<Tensor, Tensor>? EvaluationForward()
    {
        Func<Tensor, Tensor>? forward = _fsdp != null ? _fsdp.Forward : null;
        if (_tp == null) return forward;
        var run = forward ?? _model.forward;
        return tokens => { using var logits = run(tokens); return _tp.GatherLogits(logits); };
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
            var inputs = tensor(batch.Inputs, [batch.Rows, batch.SeqLen]);
            var labels = tensor(batch.Labels, [batch.Rows * batch.SeqLen]);
            Tensor loss;
            using (Tracer.Begin("forward"))
            using (_mixed?.Forward())
            {
                var logits = _fsdp != null ? _fsdp.Forward(inputs) : _model.forward(inputs);
                loss = (_tp is { Options.LossParallel: true }
                    ? LossParallel.CrossEntropy(logits.flatten(0, 1), labels, _tp.Group, _tp.VocabStart)
                    : F.cross_entropy(logits.flatten(0, 1).to(ScalarType.Float32), labels)) / _accumulationSteps;
            }
            using (Tracer.Begin("backward"))
            {
                loss.backward();
                _fsdp?.FinishBackward();
                _mixed?.AfterBackward();
            }
            lossSum += loss.item<float>();
            _meter.AddTokens((long)batch.Rows * batch.SeqLen);
        }
        // Loss: the average over dp ranks (equal token counts). Norm: every shard element counted once, so the
        // sum of squares is summed over the shard group only (dp_replicate ranks hold the same shards).
        if (_fsdp != null) lossSum = AllReduceScalar(_mesh!.Dp, lossSum, ReduceOp.Avg);
        Func<double, double>? sumShards = _fsdp != null ? x => AllReduceScalar(_mesh!.DpShardCp, x, ReduceOp.Sum) : null;
        double gradNorm;
        using (Tracer.Begin("clip_grad_norm"))
            gradNorm = _tp == null ? GradientClipping.ClipByGlobalNorm(_optimizer.Parameters, _config.Training.MaxNorm, sumShards)
                : GradientClipping.ClipToGlobalSumOfSquares(_optimizer.Parameters, _config.Training.MaxNorm, TpSumOfSquares(sumShards));
        if (!double.IsFinite(lossSum)) throw new TrainingDivergedException($"step {step}: the loss is {lossSum} (not finite); stopping");
        if (!double.IsFinite(gradNorm)) throw new TrainingDivergedException($"step {step}: the gradient norm is {gradNorm} (not finite); stopping");
        using (Tracer.Begin("optimizer"))
        {
            _optimizer.Step();
            _mixed?.AfterStep();
            if (_float8 is { Options.PrecomputeScales: true }) _fsdp?.PrecomputeFloat8Scales();
        }
        return new StepResult(step, lossSum, gradNorm, lr);
    }

    /// <summary>
    /// The squared global gradient norm with TP-sharded parameters: each TP rank's share (replicated norms counted on
    /// one rank), summed over FSDP shards, then over the TP group. Reduces sequence-parallel norm gradients first
    /// when FSDP has not (it does so before its reduce-scatter).
    /// </summary>
    private double TpSumOfSquares(Func<double, double>? sumShards)
    {
        if (_fsdp == null) _tp!.ReducePartialGradients();
        var grads = _fsdp != null ? _fsdp.ShardGradients()
            : _model.named_parameters().Where(p => p.parameter.grad is not null).Select(p => (p.name, p.parameter.grad!));
        double local = _tp!.SumOfSquares(grads);
        if (sumShards != null) local = sumShards(local);
        return AllReduceScalar(_tp.Group, local, ReduceOp.Sum);
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

    private static double AllReduceScalar(IProcessGroup group, double value, ReduceOp op)
    {
        using var t = tensor(new[] { value }, ScalarType.Float64);
        group.AllReduce(t, op);
        return t.item<double>();
    }

    /// <summary>debug.dump_results_folder: losses and full parameters from rank 0, per-rank memory from each.</summary>
    private void DumpResults(string folder, IReadOnlyList<StepResult> results)
    {
        using var scope = NewDisposeScope();
        var parameters = _fsdp != null ? _fsdp.FullParameters().ToList()
            : _mixed?.NamedMasters.ToList() ?? _model.named_parameters().Select(p => (p.name, (Tensor)p.parameter)).ToList();
        if (_tp != null) parameters = parameters.Select(p => (p.Item1, _tp.FullValue(p.Item1, p.Item2))).ToList(); // collective over TP
        Directory.CreateDirectory(folder);
        long local = _optimizer.Parameters.Sum(t => t.numel());
        long grads = _optimizer.Parameters.Sum(t => t.grad is { } g ? g.numel() : 0);
        long state = _optimizer.ExpAvg.Sum(t => t.numel()) + _optimizer.ExpAvgSq.Sum(t => t.numel());
        long total = _fsdp?.TotalParameters ?? local;
        File.WriteAllText(Path.Combine(folder, $"memory_rank{_world.Rank}.txt"),
            $"params {local}\ngrads {grads}\noptimizer_state {state}\ntotal_params {total}\nmodel_param_elements {_model.parameters().Sum(t => t.numel())}\npeak_rss_bytes {ProcessMemory.PeakRssBytes()}\n");
        if (_world.Rank != 0) return;
        ResultDump.WriteLosses(folder, results.Select(r => r.Loss));
        ResultDump.WriteParameters(folder, parameters);
        foreach (var (_, v) in parameters) if (_fsdp != null || _tp != null) v.Dispose();
    }

    public void Dispose()
    {
        _checkpointer?.Dispose();
        _loader.Dispose();
        _recorder.Dispose();
        _optimizer.Dispose();
        _fsdp?.Dispose();
        _asyncTp?.Dispose();
        _tp?.Dispose();
        _float8?.Dispose();
        _checkpointing?.Dispose();
        _mixed?.Dispose();
        _model.Dispose();
        _mesh?.Dispose();
    }
}
