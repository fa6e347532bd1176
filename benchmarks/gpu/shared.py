"""Issue 17's shared-GPU check for benchmarks/gpu/run.sh: two MPI ranks on the one GPU (their collectives run over MPI
through host copies: HostStagedProcessGroup, chosen because the host has more ranks than GPUs) train the tiny model
exactly as one process on the same GPU does with the same global batch. Layouts: FSDP 2, PP 2 (1F1B), TP 2; fp32,
clipping active every step (max_norm 0.5), the feature matrix's bounds: losses and logged gradient norms within 1e-5
relative, final parameters (gathered) within 2e-5 of each tensor's largest value.
The ranks start through `sharptitan launch` (mpirun from the carried OpenMPI: build/mpi-bundle.sh).
GPU_DRY_RUN=1 trains on the CPU instead (the same flow on a machine without a GPU; no staging there).
Usage: python3 shared.py SHARPTITAN_BINARY WORK_DIR OUT_JSON
"""
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import compare, compare_grad_norms  # noqa: E402

BIN, WORK, OUT = sys.argv[1], sys.argv[2], sys.argv[3]
DRY = os.environ.get("GPU_DRY_RUN") == "1"
DEVICE = "cpu" if DRY else "cuda"
REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
GLOBAL_BATCH, STEPS = 12, 10
# The feature matrix's tiny run (tests/SharpTitan.Tests/Support/TinyRun.cs): byte tokenizer, seq_len 32, fp32.
COMMON = ["--model.flavor", "tiny", "--model.tokenizer_path", os.path.join(REPO, "assets", "tokenizer", "byte_tokenizer.json"),
          "--training.dataset", "sample", "--training.steps", str(STEPS), "--training.seq_len", "32",
          "--training.num_threads", "1", "--debug.seed", "1234", "--activation_checkpoint.mode", "none",
          "--metrics.peak_tflops", "1", "--metrics.disable_color_printing", "--lr_scheduler.warmup_steps", "2",
          "--training.global_batch_size", str(GLOBAL_BATCH), "--training.mixed_precision_param", "float32",
          "--training.max_norm", "0.5", "--metrics.log_freq", "1", "--checkpoint.enable=false",
          "--training.device", DEVICE]
LOSS_TOL, PARAM_TOL = 1e-5, 2e-5
results = {"device": DEVICE, "checks": []}


def train(name, ranks, local_batch, layout):
    folder = os.path.join(WORK, name)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    args = ["train", "--job.dump_folder", folder, "--debug.dump_results_folder", os.path.join(folder, "dump")] + COMMON + \
           ["--training.local_batch_size", str(local_batch)] + layout
    cmd = [BIN] + (["launch", "-n", str(ranks), "--"] if ranks > 1 else []) + args
    t = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=180, cwd=REPO,
                       env={**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
    with open(folder + ".log", "w") as f:
        f.write(" ".join(cmd) + "\n" + p.stdout + "\n--- stderr ---\n" + p.stderr)
    if p.returncode != 0:
        raise RuntimeError(f"{name}: exit {p.returncode}; stderr: {p.stderr.strip()[-700:]}")
    return folder, round(time.time() - t, 1), p.stdout


reference = {}


def check(name, ranks, local_batch, layout, expect_in_log=None):
    t = time.time()
    try:
        if "folder" not in reference:  # one process on the same device, the same global batch
            reference["folder"], reference["seconds"], _ = train("one_process", 1, GLOBAL_BATCH, [])
        folder, seconds, stdout = train(name, ranks, local_batch, layout)
        figures = {**compare(folder, reference["folder"]), **compare_grad_norms(folder, reference["folder"]),
                   "seconds_run": seconds, "seconds_reference": reference["seconds"]}
        g = figures["grad_norm_max_rel_diff"]
        staged = "through host memory" in stdout
        figures["staged_through_host"] = staged
        ok = figures["loss_max_rel_diff"] <= LOSS_TOL and figures["param_max_rel_diff"] <= PARAM_TOL and \
            (g is None or g <= LOSS_TOL) and (DRY or staged)
        entry = {"name": name, "ok": bool(ok), **figures}
    except Exception as e:  # recorded; the other layouts still run
        entry = {"name": name, "ok": False, "error": str(e)[-900:]}
    entry["seconds"] = round(time.time() - t, 1)
    results["checks"].append(entry)
    print(json.dumps({k: v for k, v in entry.items() if not isinstance(v, list)}), flush=True)
    json.dump(results, open(OUT, "w"), indent=1)


only = os.environ.get("SHARED_CHECKS", "")
plan = [
    ("shared_gpu_fsdp2", 2, GLOBAL_BATCH // 2, []),
    ("shared_gpu_pp2_1f1b", 2, GLOBAL_BATCH, ["--parallelism.pipeline_parallel_degree", "2",
                                              "--parallelism.pipeline_parallel_schedule", "1F1B",
                                              "--parallelism.pipeline_parallel_microbatch_size", "3"]),
    ("shared_gpu_tp2", 2, GLOBAL_BATCH, ["--parallelism.tensor_parallel_degree", "2"]),
]
os.makedirs(WORK, exist_ok=True)
for name, ranks, local_batch, layout in plan:
    if not only or name in only.split(","):
        check(name, ranks, local_batch, layout)
sys.exit(0 if all(c["ok"] for c in results["checks"]) else 1)
