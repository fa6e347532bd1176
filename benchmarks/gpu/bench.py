"""GPU throughput rows for benchmarks/gpu/run.sh: SharpTitan and PyTorch (eager, then torch.compile) on the same
Llama 3 shapes at seq_len 8192, local batch 1, bf16 compute over fp32 masters, AdamW; rows run in order of
importance until the deadline, each in its own process, and are appended to OUT_JSON as they finish. The rows the
2026-11-30 session did not reach come first (float8, torch.compile), then issue 17's FSDP at world size 1 against the
plain model in the same session (tokens/s ratio and peak memory printed), then the rows measured before.
Usage: python3 bench.py SHARPTITAN_BENCHMARKS_BINARY DEADLINE_EPOCH_SECONDS OUT_JSON [ROWS]
"""
import json
import os
import subprocess
import sys
import time

BENCH, DEADLINE, OUT = sys.argv[1], float(sys.argv[2]), sys.argv[3]
HERE = os.path.dirname(os.path.abspath(__file__))
VOCAB = 100277  # cl100k_base, the tokenizer SharpTitan's rows train with (no Llama 3 tokenizer travels here)
SHAPES = {  # torchtitan's flavors
    "8B": dict(dim=4096, n_heads=32, n_kv_heads=8, multiple_of=1024, ffn_dim_multiplier=1.3),
    "3B": dict(dim=3072, n_heads=24, n_kv_heads=8, multiple_of=256, ffn_dim_multiplier=1.0, tie_embeddings=True),
}
# (engine, flavor, layers, ac, float8, fsdp over a one-rank mesh); SharpTitan rows use model.norm_type fused_rmsnorm
ROWS = [
    ("sharptitan", "8B", 8, "none", True, False),
    ("torch-compile", "8B", 8, "none", False, False),
    ("sharptitan", "8B", 8, "none", False, True), ("sharptitan", "8B", 8, "none", False, False),
    ("torch", "8B", 8, "none", False, False),
    ("sharptitan-rmsnorm", "8B", 8, "none", False, False),  # the plain RMSNorm under autograd: the fused one's before
    ("sharptitan-autocast", "8B", 8, "none", False, False),  # CUDA autocast over fp32 weights, as the PyTorch rows
    ("sharptitan", "8B", 8, "full", False, False), ("torch", "8B", 8, "full", False, False),
    ("sharptitan", "8B", 8, "selective", False, False), ("torch", "8B", 8, "selective", False, False),
    ("sharptitan", "3B", 28, "full", False, False), ("torch", "3B", 28, "full", False, False),
]
SEQ, STEPS, WARMUP = 8192, 5, 2
# One row never takes the whole budget (torch.compile timed out in 2026-11-30's call and left nothing after it).
ROW_TIMEOUT = float(os.environ.get("BENCH_ROW_TIMEOUT_S", "200"))
rows = ROWS[: int(sys.argv[4])] if len(sys.argv) > 4 else ROWS
DRY = os.environ.get("GPU_DRY_RUN") == "1"
if DRY:  # run.sh's dry run: the FSDP ws1 and plain SharpTitan rows on the CPU, on the debug model's shapes
    SEQ, STEPS, WARMUP = 64, 2, 1
    rows = [r for r in rows if r[0].startswith("sharptitan") and not r[4] and r[3] == "none"][:4]
results = []


def error_lines(text):
    """The exception's own lines (libtorch's message is long; its frames are not kept)."""
    keep = [l for l in text.splitlines() if any(k in l for k in ("Exception", "Error", "error:", "out of memory", "   at "))]
    return "\n".join(keep)[:2500]


for engine, flavor, layers, ac, f8, fsdp in rows:
    left = DEADLINE - time.time()
    if left < 45:
        print(f"bench: {left:.0f} s left, stopping before {engine} {flavor}x{layers} {ac}", flush=True)
        break
    if engine.startswith("sharptitan"):
        case = dict(Flavor=flavor, Layers=layers, Ac=ac, Float8=f8, SeqLen=SEQ, Steps=STEPS, Warmup=WARMUP, Fsdp=fsdp,
                    NormType="rmsnorm" if engine == "sharptitan-rmsnorm" else "fused_rmsnorm",
                    MixedPrecisionImpl="autocast" if engine == "sharptitan-autocast" else "master_copy")
        if DRY:
            case.update(Flavor="debugmodel", Layers=2, Device="cpu")
        cmd = [BENCH, "gpu-case", json.dumps(case)]
    else:
        case = dict(SHAPES[flavor], n_layers=layers, vocab=VOCAB, seq_len=SEQ, ac=ac, compile=engine == "torch-compile",
                    steps=STEPS, warmup=WARMUP)
        cmd = [sys.executable, os.path.join(HERE, "torch_llama.py"), json.dumps(case)]
    t = time.time()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=min(max(30, left - 15), ROW_TIMEOUT))
        line = [l for l in p.stdout.splitlines() if l.startswith("{")]
        row = {"engine": engine, "flavor": flavor, "layers": layers, "ac": ac, "float8": f8, "fsdp_ws1": fsdp,
               "exit": p.returncode, "seconds": round(time.time() - t, 1)}
        if line:
            row["result"] = json.loads(line[-1])
            if p.returncode != 0:
                row["stderr"] = p.stderr[:1500]
                row["error_lines"] = error_lines(p.stderr)
        else:
            row["stderr"] = p.stderr[:1500] + "\n...\n" + p.stderr[-1500:]
            row["error_lines"] = error_lines(p.stderr)
            row["stdout"] = p.stdout[-1500:]
    except subprocess.TimeoutExpired:
        row = {"engine": engine, "flavor": flavor, "layers": layers, "ac": ac, "float8": f8, "fsdp_ws1": fsdp, "timeout": True,
               "seconds": round(time.time() - t, 1)}
    results.append(row)
    r = row.get("result", {})
    tps = r.get("MedianTokensPerSecond", r.get("median_tokens_per_second"))
    print(f"bench: {engine} {flavor}x{layers} ac={ac} float8={f8} fsdp_ws1={fsdp}: tokens/s {tps} exit {row.get('exit')} "
          f"({row.get('seconds')} s)", flush=True)
    if engine == "sharptitan" and not f8 and ac == "none" and flavor == "8B":  # issue 17: FSDP ws1 against plain
        pair = {x["fsdp_ws1"]: x.get("result", {}) for x in results
                if x["engine"] == "sharptitan" and not x["float8"] and x["ac"] == "none" and x["flavor"] == "8B"}
        if pair.get(True, {}).get("MedianTokensPerSecond") and pair.get(False, {}).get("MedianTokensPerSecond"):
            ratio = pair[True]["MedianTokensPerSecond"] / pair[False]["MedianTokensPerSecond"]
            print(f"bench: FSDP ws1 / plain tokens/s {ratio:.4f} (cost {100 * (1 - ratio):.1f}%, aim <= 3%); peak reserved "
                  f"{pair[True].get('PeakReservedGiB')} vs {pair[False].get('PeakReservedGiB')} GiB", flush=True)
    json.dump(results, open(OUT, "w"), indent=1)
