#!/usr/bin/env bash
# The device check of issues 16 and 17 in one call on the lent GPU machine (PyTorch + CUDA, no .NET, no MPI, no
# network): unpacks the self-contained publish that build/gpu-bundle.sh left in .gpu/, builds LibTorchSharp and
# SharpTitan's CUDA helper against PyTorch's libtorch (or reuses .gpu/natives.tar.gz from an earlier call); when
# .gpu/openmpi.tar.xz is carried (build/mpi-bundle.sh), unpacks that OpenMPI and runs the shared-GPU check first
# (shared.py: 2 ranks on the one GPU, collectives staged through host memory, against one process: FSDP 2, PP 2, TP 2);
# then the CUDA checks (checks.py), the NCCL checks, then the throughput rows (bench.py) until the budget is spent.
# Everything lands in $OUT: run.log, shared.json, checks.json, bench.json, natives.tar.gz (carry it back as
# .gpu/natives.tar.gz to skip the build) and logs.tar.gz (every run's output).
#   device run: carry .gpu/sharptitan-linux-x64.tar.xz .gpu/torchsharp-native.tar.gz [.gpu/natives.tar.gz] [.gpu/openmpi.tar.xz]
#   command:    BUDGET_S=520 SHARED_BUDGET_S=120 CHECK_BUDGET_S=200 bash benchmarks/gpu/run.sh
#   knobs:      SHARED_BUDGET_S / CHECK_BUDGET_S = 0 skip those steps, NCCL_CHECK=0 skips the NCCL checks,
#               BENCH_ROWS=N runs bench.py's first N rows (BENCH_ROW_TIMEOUT_S caps one row, default 200),
#               CHECKS / SHARED_CHECKS name single checks.
# GPU_DRY_RUN=1 runs the same flow on a machine without a GPU (training.device cpu; the natives are the CPU build's,
# DRY_RUN_NATIVES, default src/SharpTitan.Cli/bin/Release/net10.0/runtimes/linux-x64/native): publish unpack, MPI
# bundle unpack, the shared check with 2 ranks, comparison and JSON, bench.py's FSDP ws1 and plain rows on the debug
# model; the CUDA checks and NCCL checks are skipped. e.g. OUT=/tmp/out GPU_DRY_RUN=1 bash benchmarks/gpu/run.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:?set OUT to the folder that comes back}
budget=${BUDGET_S:-520}; t0=$(date +%s); deadline=$((t0 + budget))
log() { echo "[$(( $(date +%s) - t0 ))s] $*" | tee -a "$OUT/run.log"; }
w=/tmp/sharptitan-gpu; rm -rf "$w"; mkdir -p "$w/app" "$w/natives" "$w/runs" "$w/cache"
tar -C "$w/app" -xJf .gpu/sharptitan-linux-x64.tar.xz || { log "no .gpu/sharptitan-linux-x64.tar.xz (run build/gpu-bundle.sh and carry it)"; exit 1; }
dry=${GPU_DRY_RUN:-0}
if [ "$dry" = 1 ]; then
  natives=$(realpath "${DRY_RUN_NATIVES:-src/SharpTitan.Cli/bin/Release/net10.0/runtimes/linux-x64/native}")
  [ -f "$natives/libLibTorchSharp.so" ] || { log "dry run: no libLibTorchSharp.so in $natives (build the solution or set DRY_RUN_NATIVES)"; exit 1; }
  log "dry run (GPU_DRY_RUN=1): training on the CPU with the natives in $natives; $(nproc) cores"
  export LD_LIBRARY_PATH="$natives:${LD_LIBRARY_PATH:-}"
else
torch_dir=$(python3 -c 'import torch, os; print(os.path.dirname(torch.__file__))')
log "$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader); torch $(python3 -c 'import torch; print(torch.__version__)'); $(nproc) cores"
if [ -f .gpu/natives.tar.gz ]; then
  # LibTorchSharp changes only with TorchSharp; our helper is rebuilt (one file, seconds) so it follows the source.
  tar -C "$w/natives" -xzf .gpu/natives.tar.gz && rm -f "$w/natives/libSharpTitanCuda.so"
  if ! SHIM_ONLY=1 bash build/libtorchsharp.sh - "$torch_dir" "$w/natives" >"$w/build.out" 2>&1; then
    log "CUDA helper build failed:"; tail -40 "$w/build.out" | tee -a "$OUT/run.log"; exit 1
  fi
  log "natives: reused LibTorchSharp from .gpu/natives.tar.gz, rebuilt libSharpTitanCuda.so"
else
  mkdir -p "$w/ts" && tar -C "$w/ts" -xzf .gpu/torchsharp-native.tar.gz
  if ! bash build/libtorchsharp.sh "$w/ts" "$torch_dir" "$w/natives" >"$w/build.out" 2>&1; then
    log "native build failed:"; tail -40 "$w/build.out" | tee -a "$OUT/run.log"; cp "$w/natives/build.log" "$OUT/" 2>/dev/null; exit 1
  fi
  tar -C "$w/natives" -czf "$OUT/natives.tar.gz" libLibTorchSharp.so $(cd "$w/natives" && ls libSharpTitanCuda.so 2>/dev/null)
  log "natives: built ($(du -h "$OUT/natives.tar.gz" | cut -f1) compressed)"
fi
export LD_LIBRARY_PATH="$w/natives:$torch_dir/lib:${LD_LIBRARY_PATH:-}"
fi
export SHARPTITAN_CACHE="$w/cache" DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 PYTHONUNBUFFERED=1
shared_budget=${SHARED_BUDGET_S:-120}
if [ ! -f .gpu/openmpi.tar.xz ]; then
  log "no .gpu/openmpi.tar.xz (build/mpi-bundle.sh): shared-GPU check skipped"
elif [ "$shared_budget" -gt 0 ]; then
  tar -C "$w" -xJf .gpu/openmpi.tar.xz
  # The MPI environment only for this step: its libraries stay off the other steps' search path.
  ( . "$w/openmpi/env.sh"
    log "mpi: $(command -v mpirun), $(mpirun --version 2>&1 | head -1); shared-GPU check (at most ${shared_budget} s)"
    timeout "$shared_budget" python3 benchmarks/gpu/shared.py "$w/app/sharptitan" "$w/runs/shared" "$OUT/shared.json" 2>&1 | tee -a "$OUT/run.log" )
fi
if [ "$dry" = 1 ]; then
  log "dry run: the FSDP ws1 and plain bench rows on the CPU"
  python3 benchmarks/gpu/bench.py "$w/app/SharpTitan.Benchmarks" "$deadline" "$OUT/bench.json" 2>&1 | tee -a "$OUT/run.log"
  (cd "$w" && find runs -name '*.log' -o -name 'metrics.jsonl' | tar -czf "$OUT/logs.tar.gz" -T -)
  log "dry run done (the CUDA checks and NCCL checks need the GPU)"; exit 0
fi
check_budget=${CHECK_BUDGET_S:-200}
if [ "$check_budget" -gt 0 ]; then
  log "checks (at most ${check_budget} s)"
  timeout "$check_budget" python3 benchmarks/gpu/checks.py "$w/app/sharptitan" "$w/runs" "$OUT/checks.json" 2>&1 | tee -a "$OUT/run.log"
fi
if [ "${NCCL_CHECK:-1}" != 0 ]; then
  log "nccl checks"
  timeout 120 "$w/app/SharpTitan.Benchmarks" nccl-check 2>&1 | grep -v '^\s*$' | tee "$OUT/nccl.jsonl" | tee -a "$OUT/run.log"
fi
log "bench rows until $((deadline - t0)) s"
python3 benchmarks/gpu/bench.py "$w/app/SharpTitan.Benchmarks" "$deadline" "$OUT/bench.json" ${BENCH_ROWS:-} 2>&1 | tee -a "$OUT/run.log"
(cd "$w" && find runs -name '*.log' -o -name 'metrics.jsonl' | tar -czf "$OUT/logs.tar.gz" -T -)
log "done"
