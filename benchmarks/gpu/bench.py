"""GPU throughput rows for benchmarks/gpu/run.sh: SharpTitan and PyTorch (eager, then torch.compile) on the same
Llama 3 shapes at seq_len 8192, local batch 1, bf16 compute over fp32 masters, AdamW; rows run in order of
importance until the deadline, each in its own process, and are appended to OUT_JSON as they finish.
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
    "3B": dict(dim=3072, n_heads=24, n_kv_heads=8, multiple_of=256, ffn_dim_multiplier=1.0),
}
# (engine, flavor, layers, ac, float8)
ROWS = [
    ("sharptitan", "8B", 8, "none", False), ("torch", "8B", 8, "none", False),
    ("sharptitan", "8B", 8, "full", False), ("torch", "8B", 8, "full", False),
    ("sharptitan", "8B", 8, "none", True),
    ("sharptitan", "8B", 8, "selective", False), ("torch", "8B", 8, "selective", False),
    ("sharptitan", "3B", 28, "full", False), ("torch", "3B", 28, "full", False),
    ("torch-compile", "8B", 8, "none", False),
]
SEQ, STEPS, WARMUP = 8192, 5, 2
rows = ROWS[: int(sys.argv[4])] if len(sys.argv) > 4 else ROWS
results = []
for engine, flavor, layers, ac, f8 in rows:
    left = DEADLINE - time.time()
    if left < 45:
        print(f"bench: {left:.0f} s left, stopping before {engine} {flavor}x{layers} {ac}", flush=True)
        break
    if engine == "sharptitan":
        case = dict(Flavor=flavor, Layers=layers, Ac=ac, Float8=f8, SeqLen=SEQ, Steps=STEPS, Warmup=WARMUP)
        cmd = [BENCH, "gpu-case", json.dumps(case)]
    else:
        case = dict(SHAPES[flavor], n_layers=layers, vocab=VOCAB, seq_len=SEQ, ac=ac, compile=engine == "torch-compile",
                    steps=STEPS, warmup=WARMUP)
        cmd = [sys.executable, os.path.join(HERE, "torch_llama.py"), json.dumps(case)]
    t = time.time()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=max(30, left - 15))
        line = [l for l in p.stdout.splitlines() if l.startswith("{")]
        row = {"engine": engine, "flavor": flavor, "layers": layers, "ac": ac, "float8": f8,
               "exit": p.returncode, "seconds": round(time.time() - t, 1)}
        if line:
            row["result"] = json.loads(line[-1])
            if p.returncode != 0:
                row["stderr"] = p.stderr[:1500]
        else:
            row["stderr"] = p.stderr[:1500] + "\n...\n" + p.stderr[-1500:]
            row["stdout"] = p.stdout[-1500:]
    except subprocess.TimeoutExpired:
        row = {"engine": engine, "flavor": flavor, "layers": layers, "ac": ac, "float8": f8, "timeout": True}
    results.append(row)
    r = row.get("result", {})
    tps = r.get("MedianTokensPerSecond", r.get("median_tokens_per_second"))
    print(f"bench: {engine} {flavor}x{layers} ac={ac} float8={f8}: tokens/s {tps} exit {row.get('exit')} "
          f"({row.get('seconds')} s)", flush=True)
    json.dump(results, open(OUT, "w"), indent=1)
