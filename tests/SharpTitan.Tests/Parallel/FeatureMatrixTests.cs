using System.Text.RegularExpressions;
using SharpTitan.Tests.Distributed;
using SharpTitan.Tests.Support;
using Xunit.Abstractions;
using Tolerances = SharpTitan.Tests.Support.ResultComparison.Tolerances;

namespace SharpTitan.Tests.Parallel;

/// <summary>
/// Every parallel layout and training feature the README claims, each trained for 10 steps of the tiny model by
/// the real CLI (several ranks under mpirun) and compared with one process training the same global batch in the
/// same dtype (each distinct reference trained once). Compared: the loss and the gradient norm of every step, the
/// validation loss at steps 5 and 10 (the same fixed batches everywhere, full logits under TP), and the final
/// parameters (gathered from every shard; max |diff| / max |param| per tensor). Outside float8, max_norm is 0.5 so
/// clipping is active every step: a wrong global norm would move the parameters. The byte tokenizer's 259-token
/// vocabulary divides by neither 2 nor 4, so TP's embedding and output shards are uneven; no unit of the tiny
/// model divides by 3, so FSDP 3 pads every unit.
/// Measured (fp32) when these were separate tests: FSDP / DDP / HSDP losses within ~1e-7 relative and parameters
/// within ~3e-6 (max_norm 1, no validation); TP (alone and under FSDP / HSDP) losses within ~2e-7, gradient
/// norms ~1e-8, parameters ~2e-6. Measured in this matrix: losses within 2.5e-7, gradient norms 5e-8,
/// validation losses 4e-8, parameters 6e-6 (async TP 2; plain layouts 2.5e-6). The bounds (1e-5 relative,
/// 2e-5 on parameters) leave room for reduction order. Each row writes what it measured to the test output.
/// </summary>
[Collection(MpiCollection.Name)]
public class FeatureMatrixTests(TinyRunCache runs, ITestOutputHelper output) : IClassFixture<TinyRunCache>
{
    /// <summary>One layout or feature: its run, the one-process run it must equal, the bounds, and any check of its own.</summary>
    private sealed record Row(string Name, TinyRun Run, TinyRun Reference, Tolerances Tolerances,
        Action<string, TinyRunCache>? Check = null);

    private static readonly Tolerances Equal = new(Loss: 1e-5, Parameters: 2e-5, GradNorm: 1e-5, Validation: 1e-5);
    private static readonly Tolerances BitForBit = new(0, 0, 0, 0);

    private const int ValidationEvery = 5;
    private static readonly string[] Validation =
    [
        "--validation.enable", "true", "--validation.dataset", "sample", "--validation.seq_len", "32",
        "--validation.local_batch_size", "4", "--validation.steps", "2", "--validation.freq", ValidationEvery.ToString(),
    ];

    /// <summary>fp32, global batch 12, clipping every step: the reference of every row without float8.</summary>
    private static readonly TinyRun Fp32 = new() { LogFreq = 1, Overrides = ["--training.max_norm", "0.5", .. Validation] };

    /// <summary>
    /// Float8, global batch 4. FSDP: the single process takes the same two 2-row micro-batches the two ranks take,
    /// so every activation and gradient is cast with the same scale (tensorwise amaxes are per tensor, and a tensor
    /// here is one rank's micro-batch); weights are cast from the same gathered values, or gathered already in
    /// float8 with scales from the amax over both shards. TP: each rank casts its shard with amaxes all-reduced
    /// (max) over the TP group (tensorwise: every amax; rowwise: those along a split axis), so the float8 values
    /// are the single process's. Measured: the losses are identical to the last digit (FSDP, bf16) and within ~1e-7
    /// relative (TP, fp32); the bounds are the other rows'.
    /// </summary>
    private static TinyRun Float8(string paramDtype, string recipe, int? localBatch = null) => new()
    {
        GlobalBatch = 4, LocalBatch = localBatch, ParamDtype = paramDtype, LogFreq = 1,
        Overrides = [.. Validation, "--model.converters", "float8", "--float8.recipe_name", recipe],
    };

    private static readonly string[] Async = ["--parallelism.enable_async_tensor_parallel", "true"];

    private static string[] Ac(string mode, string option = "2") =>
        ["--activation_checkpoint.mode", mode, "--activation_checkpoint.selective_ac_option", option];

    private static string[] Replicate(int replicate, int shard) =>
        ["--parallelism.data_parallel_replicate_degree", replicate.ToString(), "--parallelism.data_parallel_shard_degree", shard.ToString()];

    /// <summary>A row that runs <paramref name="reference"/> (default <see cref="Fp32"/>) on more ranks with <paramref name="layout"/> added.</summary>
    private static Row Layout(string name, int ranks, int tp, string[] layout, TinyRun? reference = null,
        Tolerances? tolerances = null, Action<string, TinyRunCache>? check = null)
    {
        reference ??= Fp32;
        var run = reference with { Ranks = ranks, Tp = tp, LocalBatch = null, Overrides = [.. reference.Overrides, .. layout] };
        return new Row(name, run, reference, tolerances ?? Equal, check);
    }

    /// <summary>Context parallel's reference: <see cref="Fp32"/> at seq_len 256 (32 tokens per chunk at CP 4).</summary>
    private static readonly TinyRun LongFp32 = Fp32 with { Overrides = [.. Fp32.Overrides, "--training.seq_len", "256"] };

    private static readonly string[] NcclRules = ["--debug.emulate_nccl_p2p"];

    /// <summary>The run's last rank said it ran under NCCL's rules (the rows would pass on plain MPI too).</summary>
    private static Action<string, TinyRunCache> UnderNcclRules(int lastRank) => (dump, _) =>
        Assert.Contains("under NCCL's rules", File.ReadAllText(Path.Combine(dump, "logs", $"rank_{lastRank}.log")));

    private static Row Context(string name, int ranks, int cp, string[] layout, Action<string, TinyRunCache>? check = null, int tp = 1,
        TinyRun? reference = null, Tolerances? tolerances = null)
    {
        var row = Layout(name, ranks, tp, layout, reference ?? LongFp32, tolerances, check);
        return row with { Run = row.Run with { Cp = cp } };
    }

    private static string[] Rotate(string method) => ["--parallelism.context_parallel_rotate_method", method];

    /// <summary>
    /// A pipeline row: <paramref name="pp"/> stages x <paramref name="dp"/> data-parallel x <paramref name="tp"/> TP ranks, the schedule and
    /// micro-batch size given, against <paramref name="reference"/> (default <see cref="Fp32"/>).
    /// </summary>
    private static Row Pipeline(string name, int pp, string schedule, int microbatch, string[]? layout = null, int? localBatch = null,
        Action<string, TinyRunCache>? check = null, int dp = 1, TinyRun? reference = null, Tolerances? tolerances = null, int tp = 1, int cp = 1)
    {
        reference ??= cp > 1 ? LongFp32 : Fp32;
        var run = reference with
        {
            Ranks = pp * dp * tp * cp, Pp = pp, Tp = tp, Cp = cp, LocalBatch = localBatch,
            Overrides = [.. reference.Overrides, "--parallelism.pipeline_parallel_schedule", schedule,
                "--parallelism.pipeline_parallel_microbatch_size", microbatch.ToString(), .. layout ?? []],
        };
        return new Row(name, run, reference, tolerances ?? Equal, check);
    }

    private static Row Bf16Params(Row row) => row with { Run = row.Run with { ParamDtype = "bfloat16" } };

    private static readonly Row[] Table =
    [
        // One process: activation checkpointing recomputes the same kernels on the same inputs.
        // libtorch's deterministic algorithms (torchtitan's set_determinism): every kernel here has one, the same.
        Layout("1 process, debug.deterministic", 1, 1, ["--debug.deterministic"], tolerances: BitForBit),
        Layout("1 process, full AC", 1, 1, Ac("full"), tolerances: BitForBit),
        Layout("1 process, selective layer AC", 1, 1, Ac("selective", "2"), tolerances: BitForBit),
        // Selective op replays its kept values through its own backward: measured bit-identical here too, the
        // bound allows other kernels (as ActivationCheckpointTests).
        Layout("1 process, selective op AC", 1, 1, Ac("selective", "op")),

        // Data parallel.
        Layout("FSDP 2", 2, 1, []),
        Layout("FSDP 4, reshard always", 4, 1, ["--parallelism.fsdp_reshard_after_forward", "always"], check: (dump, _) =>
        {
            for (int rank = 0; rank < 4; rank++)
            {
                var m = TinyRun.Memory(dump, rank);
                Assert.Equal(m["total_params"] / 4, m["params"]); // tiny's units all divide by 4: no padding
                Assert.Equal(m["params"], m["grads"]);
                Assert.Equal(2 * m["params"], m["optimizer_state"]);
                Assert.Equal(0, m["model_param_elements"]); // the model's own parameters are freed between steps
            }
        }),
        Layout("FSDP 3 padded, reshard never, no overlap", 3, 1,
            ["--parallelism.fsdp_reshard_after_forward", "never", "--parallelism.fsdp_overlap", "false"], check: (dump, _) =>
        {
            var m = TinyRun.Memory(dump, 2);
            Assert.True(m["params"] * 3 > m["total_params"] && m["params"] * 3 - m["total_params"] < 3 * 3, $"{m["params"]} x 3 vs {m["total_params"]}");
            Assert.Equal(0, m["model_param_elements"]);
        }),
        Layout("DDP 2", 2, 1, Replicate(2, 1), check: (dump, _) =>
        {
            var m = TinyRun.Memory(dump, 1);
            Assert.Equal(m["total_params"], m["params"]); // replicated
        }),
        Layout("HSDP 2x2", 4, 1, Replicate(2, 2), check: (dump, _) =>
            Assert.Equal(TinyRun.Memory(dump, 3)["total_params"] / 2, TinyRun.Memory(dump, 3)["params"])),
        // bf16 gathered parameters and compute, fp32 shards and reduction: close to fp32, not equal.
        // Measured: losses within 6e-4 relative, parameters 2e-2, gradient norms 4e-3, validation losses 2e-4.
        Bf16Params(Layout("FSDP 2, bf16 params, against fp32", 2, 1, [],
            tolerances: new(Loss: 2e-2, Parameters: 5e-2, GradNorm: 2e-2, Validation: 2e-2))),
        // The same run against one process computing in bf16 on fp32 masters (master_copy): the bf16 gradients come
        // from other batch sizes (6 rows, not 12), so rounding differs. Measured: losses within 2.1e-5 relative,
        // parameters 5.2e-3, gradient norms 2.6e-4, validation losses 2.9e-5: the bounds leave 5-10x room.
        Layout("FSDP 2, bf16 params", 2, 1, [], Fp32 with { ParamDtype = "bfloat16" },
            tolerances: new(Loss: 2e-4, Parameters: 2.5e-2, GradNorm: 2e-3, Validation: 2e-4)),
        // AC is installed on the blocks DDP keeps (FSDP recomputes its resharding blocks itself).
        Layout("DDP 2, full AC", 2, 1, [.. Replicate(2, 1), .. Ac("full")]),
        // Selective op adds nothing under FSDP.
        Layout("FSDP 2, selective op AC", 2, 1, Ac("selective", "op")),

        // Tensor parallel (sequence and loss parallel unless switched off).
        Layout("TP 2", 2, 2, []),
        Layout("TP 2, no sequence parallel", 2, 2, ["--parallelism.enable_sequence_parallel", "false"]),
        Layout("TP 2, no loss parallel", 2, 2, ["--parallelism.disable_loss_parallel", "true"]),
        // Recompute under TP re-runs the block's TP collectives in backward; the result must not change.
        Layout("TP 2, full AC", 2, 2, Ac("full")),
        Layout("TP 2, selective layer AC", 2, 2, Ac("selective", "2")),
        // The kept matmul outputs are the local (pre-collective) ones, so the replay feeds TP's hooks what the first forward did.
        Layout("TP 2, selective op AC", 2, 2, Ac("selective", "op")),
        // 4 ranks on CI's 2 cores are slow: one plain run (the other paths run at TP 2); tiny_mha's kv heads divide by 4.
        Layout("TP 4", 4, 4, [], Fp32 with { Flavor = "tiny_mha" }),
        Layout("FSDP 2 x TP 2", 4, 2, [], check: (dump, _) =>
            Assert.Contains("dp_shard=2 cp=1 tp=2", File.ReadAllText(Path.Combine(dump, "logs", "rank_3.log")))),
        // HSDP's replicate dimension (4 ranks allow replicate 2 x shard 1) around TP 2.
        Layout("HSDP 2x1 x TP 2", 4, 2, ["--parallelism.data_parallel_replicate_degree", "2"], check: (dump, _) =>
            Assert.Contains("dp_replicate=2 dp_shard=1 cp=1 tp=2", File.ReadAllText(Path.Combine(dump, "logs", "rank_3.log")))),
        // True 3D data x tensor layout: replicate 2 x shard 2 x TP 2 (one of the few 8-rank cases CI allows).
        Layout("HSDP 2x2 x TP 2", 8, 2, ["--parallelism.data_parallel_replicate_degree", "2"], check: (dump, _) =>
            Assert.Contains("dp_replicate=2 dp_shard=2 cp=1 tp=2", File.ReadAllText(Path.Combine(dump, "logs", "rank_7.log")))),
        // The vocabulary-sharded embedding is also the output projection's block.
        Layout("TP 2, tied embeddings", 2, 2, [], Fp32 with { Flavor = "tiny_tied" }),

        // Async TP: chunked collectives on the communication thread give plain TP's results.
        Layout("async TP 2", 2, 2, Async),
        // Recompute re-runs the chunked collectives inside backward.
        Layout("async TP 2, full AC", 2, 2, [.. Async, .. Ac("full")]),
        // With 4 ranks each rank has 3 other ranks' rows per piece, in rank order around its own.
        Layout("async TP 4", 4, 4, Async, Fp32 with { Flavor = "tiny_mha" }),
        // Async TP's collectives share the communication thread with FSDP's prefetch and reduce-scatters.
        Layout("FSDP 2 x async TP 2", 4, 2, Async),

        // Context parallel: each sequence in load-balanced chunks over the cp ranks, which also shard FSDP's parameters.
        Context("CP 2", 2, 2, []),
        Context("CP 2, alltoall", 2, 2, Rotate("alltoall")),
        Context("CP 2, alltoall, NCCL's point-to-point rules", 2, 2, [.. Rotate("alltoall"), .. NcclRules], UnderNcclRules(1)),
        Context("CP 4", 4, 4, []),
        Context("CP 4, alltoall", 4, 4, Rotate("alltoall")),
        // Recompute re-runs the key/value all-gathers inside backward.
        Context("CP 2, full AC", 2, 2, Ac("full")),
        // Op AC replays the fused attention from its kept outputs (the one-token replay meets an empty chunk).
        Context("CP 2, selective op AC", 2, 2, Ac("selective", "op")),
        // Sequences of 1024 (128 tokens per chunk at CP 4), the ring method.
        Context("CP 4, alltoall, seq_len 1024", 4, 4, Rotate("alltoall"),
            reference: Fp32 with { Overrides = [.. Fp32.Overrides, "--training.seq_len", "1024"] }),
        // bf16 compute (FSDP's gathered parameters, the fused blocks in bf16, log-sum-exp merge in fp32), fp32 shards:
        // against one process computing in bf16 on fp32 masters, with the "FSDP 2, bf16 params" row's bounds.
        Context("CP 2, bf16 params", 2, 2, [], reference: LongFp32 with { ParamDtype = "bfloat16" },
            tolerances: new(Loss: 2e-4, Parameters: 2.5e-2, GradNorm: 2e-3, Validation: 2e-4)),
        Context("CP 2 x FSDP 2", 4, 2, [], check: (dump, _) =>
            Assert.Contains("dp_shard=2 cp=2 tp=1", File.ReadAllText(Path.Combine(dump, "logs", "rank_3.log")))),
        // Each rank attends with its TP heads over its CP part of the sequence; sequence parallel splits that part again.
        Context("CP 2 x TP 2", 4, 2, [], tp: 2, check: (dump, _) =>
            Assert.Contains("dp_shard=1 cp=2 tp=2", File.ReadAllText(Path.Combine(dump, "logs", "rank_3.log")))),
        Context("CP 2 x TP 2, alltoall, op AC, no SP or loss parallel", 4, 2,
            [.. Rotate("alltoall"), .. Ac("selective", "op"), "--parallelism.enable_sequence_parallel", "false", "--parallelism.disable_loss_parallel", "true"], tp: 2),
        // Pipeline parallel: stages on ranks, activations and gradients sent between them, the loss from the last
        // stage, the gradient norm over all stages, validation through the pipeline. tiny has 2 layers; with the
        // embedding and output weighing one layer each, PP 2 is [embedding, layer 0] [layer 1, norm, output] and PP 4
        // (or 2 x 2 interleaved) one piece per stage.
        Pipeline("PP 2, GPipe", 2, "GPipe", 3),
        Pipeline("PP 2, 1F1B", 2, "1F1B", 3, check: (dump, cache) =>
        {
            // Each rank holds only its stage's parameters (the others' are freed), with their gradients and moments.
            var m = Enumerable.Range(0, 2).Select(r => TinyRun.Memory(dump, r)).ToList();
            Assert.Equal(TinyRun.Memory(cache.Train(Fp32), 0)["params"], m[0]["params"] + m[1]["params"]);
            Assert.All(m, r => Assert.Equal(r["params"], r["model_param_elements"]));
            Assert.All(m, r => Assert.Equal(2 * r["params"], r["optimizer_state"]));
        }),
        Pipeline("PP 2, Interleaved1F1B", 2, "Interleaved1F1B", 3),
        Pipeline("PP 4, 1F1B", 4, "1F1B", 2),
        // Tied embeddings: the last stage's rank keeps a copy of the embedding weight, the two ranks sum its gradient.
        Pipeline("PP 2, 1F1B, tied embeddings", 2, "1F1B", 3, reference: Fp32 with { Flavor = "tiny_tied" }),
        Pipeline("PP 2, 1F1B, tied embeddings, gradient accumulation", 2, "1F1B", 2, localBatch: 6, reference: Fp32 with { Flavor = "tiny_tied" }),
        Pipeline("PP 2 x FSDP 2, GPipe, tied embeddings", 2, "GPipe", 3, dp: 2, reference: Fp32 with { Flavor = "tiny_tied" }),
        // V: the first and the last stage are both on rank 0, one tensor.
        Pipeline("PP 2, ZBVZeroBubble, tied embeddings", 2, "ZBVZeroBubble", 3, reference: Fp32 with { Flavor = "tiny_tied" }),
        // Two stages per rank at PP 4: tiny_deep's 6 layers + embedding + output make 8 stages, looped or in a V.
        Pipeline("PP 4, Interleaved1F1B", 4, "Interleaved1F1B", 3, reference: Fp32 with { Flavor = "tiny_deep" }),
        Pipeline("PP 4, ZBVZeroBubble", 4, "ZBVZeroBubble", 3, reference: Fp32 with { Flavor = "tiny_deep" }),
        Pipeline("PP 2, LoopedBFS", 2, "LoopedBFS", 3),
        // Zero bubble: backwards split into I (input gradients, sent on at once) and W (weight gradients, later). The
        // V-shaped ones put stages 0 and 3 on rank 0 (so the loss is computed there) and 1 and 2 on rank 1, handing
        // activations and gradients from stage 1 to stage 2 without a message. tiny at 4 stages: [embedding] [layer 0]
        // [layer 1] [norm, output]. DualPipeV runs its overlapped F/B pairs one after the other.
        Pipeline("PP 2, InterleavedZeroBubble", 2, "InterleavedZeroBubble", 3),
        Pipeline("PP 2, ZBVZeroBubble", 2, "ZBVZeroBubble", 3),
        Pipeline("PP 2, DualPipeV", 2, "DualPipeV", 3),
        Pipeline("PP 2, ZBVZeroBubble, gradient accumulation", 2, "ZBVZeroBubble", 2, localBatch: 6),
        // NCCL's point-to-point rules on MPI (debug.emulate_nccl_p2p): transfers matched by order alone, one batch at a
        // time. The runner's real posting order must still give one process's numbers, as it must on NCCL.
        Pipeline("PP 2, 1F1B, NCCL's point-to-point rules", 2, "1F1B", 3, NcclRules, check: UnderNcclRules(1)),
        Pipeline("PP 2, DualPipeV, NCCL's point-to-point rules", 2, "DualPipeV", 3, NcclRules, check: UnderNcclRules(1)),
        Pipeline("PP 4, Interleaved1F1B, NCCL's point-to-point rules", 4, "Interleaved1F1B", 3, NcclRules, reference: Fp32 with { Flavor = "tiny_deep" },
            check: UnderNcclRules(3)),
        Pipeline("PP 2 x CP 2, ZBVZeroBubble, alltoall, NCCL's point-to-point rules", 2, "ZBVZeroBubble", 3, [.. Rotate("alltoall"), .. NcclRules], cp: 2,
            check: UnderNcclRules(3)),
        // Checkpointed blocks add their weight gradients in I (their recompute node does the whole block); W skips them.
        Pipeline("PP 2, InterleavedZeroBubble, full AC", 2, "InterleavedZeroBubble", 3, Ac("full")),
        // Gradient accumulation: two local batches of 6 rows per step, each 3 micro-batches of 2.
        Pipeline("PP 2, 1F1B, gradient accumulation", 2, "1F1B", 2, localBatch: 6),
        // Uneven stages: the embedding weighs nothing, so stage 0 holds both layers and stage 1 the norm and output.
        Pipeline("PP 2, 1F1B, uneven split", 2, "1F1B", 3, ["--parallelism.pipeline_parallel_first_stage_less_layers", "0"]),
        // An explicit split (module_fqns_per_model_part): the embedding alone on stage 0.
        Pipeline("PP 2, 1F1B, explicit split", 2, "1F1B", 3, ["--parallelism.module_fqns_per_model_part", "tok_embeddings;layers.0,layers.1,norm,output"]),
        Pipeline("PP 2, GPipe, full AC", 2, "GPipe", 4, Ac("full")),
        Pipeline("PP 2, Interleaved1F1B, selective op AC", 2, "Interleaved1F1B", 3, Ac("selective", "op")),
        // Full bf16 training (training.dtype): activations and their gradients travel in bf16. The micro-batches (3
        // rows) are not the single process's 12-row batch, so bf16 rounding differs. Measured: losses within 1.9e-5
        // relative, parameters 1.1e-2, gradient norms 4.3e-4, validation losses 2.5e-5.
        Pipeline("PP 2, 1F1B, bf16", 2, "1F1B", 3, reference: Fp32 with { Overrides = [.. Fp32.Overrides, "--training.dtype", "bfloat16"] },
            tolerances: new(Loss: 2e-4, Parameters: 5e-2, GradNorm: 4e-3, Validation: 2e-4)),
        // Float8 linears inside the stages; one micro-batch of the whole batch, so every tensorwise scale is the single process's.
        Pipeline("float8 PP 2, GPipe", 2, "GPipe", 4, reference: Float8("float32", "tensorwise")),
        // Dynamic float8 scales follow each micro-batch's values, so a split batch differs from one process by
        // quantization (2e-5 relative here): split backward is checked against GPipe on the same micro-batches.
        Pipeline("float8 PP 2, ZBVZeroBubble", 2, "ZBVZeroBubble", 2, reference: Float8("float32", "tensorwise")) with
        {
            Reference = Float8("float32", "tensorwise") with
            {
                Ranks = 2, Pp = 2,
                Overrides = [.. Float8("float32", "tensorwise").Overrides, "--parallelism.pipeline_parallel_schedule", "GPipe",
                    "--parallelism.pipeline_parallel_microbatch_size", "2"],
            },
        },
        // With data parallelism each stage's parameters are sharded over its pp rank's dp ranks (pp outermost: ranks
        // 0-1 hold stage 0, 2-3 stage 1), gathered once per local batch of 6 rows (2 micro-batches of 3).
        Pipeline("PP 2 x FSDP 2, 1F1B", 2, "1F1B", 3, dp: 2, check: (dump, _) =>
        {
            Assert.Contains("pp rank 1 shards 65,920 stage parameters in 2 unit(s) over 2 rank(s)", File.ReadAllText(Path.Combine(dump, "logs", "rank_3.log")));
            var m = TinyRun.Memory(dump, 2);
            Assert.Equal(m["total_params"] / 2, m["params"]); // half of stage 1's parameters
        }),
        Pipeline("PP 2 x DDP 2, GPipe", 2, "GPipe", 3, Replicate(2, 1), dp: 2),
        // The W's accumulate into the gathered parameters' gradients like B does; the reduce-scatter follows the last W.
        Pipeline("PP 2 x FSDP 2, ZBVZeroBubble", 2, "ZBVZeroBubble", 3, dp: 2),
        // TP inside each stage: each TP rank sends its block of the sequence (sequence parallel) to the same TP rank of
        // the next stage; the last stage's loss is loss-parallel; validation gathers the vocabulary shards.
        Pipeline("PP 2 x TP 2, 1F1B", 2, "1F1B", 3, tp: 2),
        // Async TP's chunked collectives (communication thread) inside each stage, beside PP's sends and receives.
        Pipeline("PP 2 x async TP 2, 1F1B", 2, "1F1B", 3, Async, tp: 2, check: (dump, _) =>
            Assert.Contains("loss parallel on, async on", File.ReadAllText(Path.Combine(dump, "logs", "rank_3.log")))),
        Pipeline("PP 2 x async TP 2, ZBVZeroBubble", 2, "ZBVZeroBubble", 3, Async, tp: 2),
        // W re-runs the block-internal backward of the TP blocks, with its collectives, on every TP rank alike.
        Pipeline("PP 2 x TP 2, ZBVZeroBubble", 2, "ZBVZeroBubble", 3, tp: 2),
        // Split backward with context parallel: W re-runs the attention's backward, with its key/value collectives.
        Pipeline("PP 2 x CP 2, ZBVZeroBubble", 2, "ZBVZeroBubble", 3, cp: 2),
        Pipeline("PP 2 x TP 2, Interleaved1F1B, no sequence or loss parallel", 2, "Interleaved1F1B", 3,
            ["--parallelism.enable_sequence_parallel", "false", "--parallelism.disable_loss_parallel", "true"], tp: 2),
        // Every stage runs on this rank's load-balanced part of each sequence; the stages' parameters are sharded over cp.
        Pipeline("PP 2 x CP 2, 1F1B", 2, "1F1B", 3, cp: 2, check: (dump, _) =>
            Assert.Contains("pipeline x context parallel: degree 2, rotate method allgather, rank 1 holds sequence chunks 1 and 2 of 4", File.ReadAllText(Path.Combine(dump, "logs", "rank_3.log")))),
        Pipeline("PP 2 x CP 2, GPipe, alltoall, full AC", 2, "GPipe", 3, [.. Rotate("alltoall"), .. Ac("full")], cp: 2),
        // 3D and 4D on 8 tiny ranks: pp outermost, then dp_shard, cp, tp.
        Pipeline("PP 2 x FSDP 2 x TP 2, 1F1B", 2, "1F1B", 3, dp: 2, tp: 2),
        Pipeline("PP 2 x CP 2 x TP 2, Interleaved1F1B", 2, "Interleaved1F1B", 3, tp: 2, cp: 2),
        // bf16 gathered parameters and activations (sent between stages in bf16), fp32 shards and reductions, full AC:
        // against one process computing in bf16 on fp32 masters, with the "FSDP 2, bf16 params" row's bounds. Measured:
        // losses within 2.1e-5 relative, parameters 9.9e-3, gradient norms 2.5e-4, validation losses 3.1e-5.
        Pipeline("PP 2 x FSDP 2, 1F1B, bf16 params, full AC", 2, "1F1B", 3, Ac("full"), dp: 2, reference: Fp32 with { ParamDtype = "bfloat16" },
            tolerances: new(Loss: 2e-4, Parameters: 2.5e-2, GradNorm: 2e-3, Validation: 2e-4)),

        // Float8.
        Layout("float8 FSDP 2", 2, 1, [], Float8("bfloat16", "tensorwise", localBatch: 2)),
        Layout("float8 FSDP 2, float8 all-gather", 2, 1,
            ["--float8.enable_fsdp_float8_all_gather", "--float8.precompute_float8_dynamic_scale_for_fsdp"],
            Float8("bfloat16", "tensorwise", localBatch: 2), check: (dump, cache) =>
        {
            // The blocks' linear weights travel at 1 byte instead of 2; the root (embedding, output) stays bf16.
            var bf16Gather = cache.Train(RowNamed("float8 FSDP 2").Run);
            Assert.InRange((double)AllGatherBytesPerStep(dump) / AllGatherBytesPerStep(bf16Gather), 0.55, 0.8);
        }),
        // Under PP the stages' parameters are one FSDP unit per pp rank, gathered once per local batch (2 rows, one
        // micro-batch: the reference's micro-steps), their float8 weights as e4m3 bytes with precomputed scales.
        Pipeline("float8 PP 2 x FSDP 2, GPipe", 2, "GPipe", 2, dp: 2, reference: Float8("bfloat16", "tensorwise", localBatch: 2)),
        Pipeline("float8 PP 2 x FSDP 2, GPipe, float8 all-gather", 2, "GPipe", 2,
            ["--float8.enable_fsdp_float8_all_gather", "--float8.precompute_float8_dynamic_scale_for_fsdp"], dp: 2,
            reference: Float8("bfloat16", "tensorwise", localBatch: 2), check: (dump, cache) =>
            {
                var bf16Gather = cache.Train(RowNamed("float8 PP 2 x FSDP 2, GPipe").Run);
                Assert.InRange((double)AllGatherBytesPerStep(dump) / AllGatherBytesPerStep(bf16Gather), 0.5, 0.8);
            }),
        // Rowwise scales under FSDP (bf16 gathers): measured identical to the last digit, as tensorwise.
        Layout("float8 FSDP 2, rowwise", 2, 1, [], Float8("bfloat16", "rowwise", localBatch: 2)),
        Layout("float8 TP 2, tensorwise", 2, 2, [], Float8("float32", "tensorwise")),
        // Rowwise amaxes are all-reduced only along a split axis (row-wise layers' inputs and weights, column-wise layers' gradients).
        Layout("float8 TP 2, rowwise", 2, 2, [], Float8("float32", "rowwise")),
        // Async TP runs the float8 kernel once per sequence piece (own rows, then each gathered piece), so a
        // tensorwise scale comes from that piece's amax (all-reduced over the TP group) rather than the whole
        // tensor's: the casts differ from one process's by a rounding step at most, and the run follows it within
        // float8's own error, not bit for bit. Measured: losses within 4e-5 relative (fp32, tensorwise); the bound
        // leaves 5x room. Gradient norms measured within 1.9e-4, validation losses 1.9e-5 (bounds 5x).
        Layout("float8 async TP 2", 2, 2, Async, Float8("float32", "tensorwise"),
            new Tolerances(Loss: 2e-4, Parameters: null, GradNorm: 1e-3, Validation: 1e-4)),
    ];

    private static readonly Dictionary<string, Row> Rows = Table.ToDictionary(r => r.Name);

    // A row's check may run another row (read at run time, after the table is built).
    private static Row RowNamed(string name) => Rows[name];

    public static TheoryData<string> Names => new(Table.Select(r => r.Name));

    [Theory]
    [MemberData(nameof(Names))]
    public void LayoutMatchesOneProcess(string name)
    {
        var row = Rows[name];
        var reference = runs.Train(row.Reference);
        var dump = runs.Train(row.Run);
        Assert.Equal(row.Run.Steps, TinyRun.Losses(dump).Length);
        if (row.Tolerances.Validation != null)
            Assert.Equal(row.Run.Steps / ValidationEvery, TinyRun.Metric(dump, "validation_loss").Length);
        output.WriteLine(ResultComparison.AssertSameRun(reference, dump, row.Tolerances).ToString());
        row.Check?.Invoke(dump, runs);
    }

    /// <summary>Rank 0's "fsdp: N bytes of parameter all-gathers per rank per step" line.</summary>
    private static long AllGatherBytesPerStep(string dump)
    {
        var m = Regex.Match(File.ReadAllText(Path.Combine(dump, "logs", "rank_0.log")), @"fsdp: ([\d,]+) bytes of parameter all-gathers");
        Assert.True(m.Success, "no all-gather byte count in rank 0's log");
        return long.Parse(m.Groups[1].Value.Replace(",", ""));
    }
}
