#!/usr/bin/env bash
# Builds TorchSharp's native library (libLibTorchSharp.so) and SharpTitan's CUDA helper (libSharpTitanCuda.so)
# against a given libtorch, e.g. the one a PyTorch install carries, so that the managed TorchSharp 0.107.0 runs on it.
#
#   build/libtorchsharp.sh TORCHSHARP_SRC TORCH_DIR OUT_DIR
#   SHIM_ONLY=1 build/libtorchsharp.sh - TORCH_DIR OUT_DIR    (only SharpTitan's CUDA helper, e.g. beside a kept LibTorchSharp)
#
# TORCHSHARP_SRC: a TorchSharp source tree at the commit of the managed assembly in use (0.107.0 = c20b6a1); fetch
#   it into an ignored folder, never commit it. TORCH_DIR: a folder with include/ and lib/ (a libtorch download, or
#   PyTorch's package folder: python3 -c 'import torch, os; print(os.path.dirname(torch.__file__))'), or "python3"
#   to ask that interpreter. OUT_DIR receives the two libraries and build.log.
# TorchSharp compiles LibTorchSharp against CPU libtorch and pairs it with CUDA libtorch at run time; we do the same,
# compiling each of its sources in parallel with the C++ ABI flag the libtorch was built with (no -Werror: newer
# libtorch headers warn where the pinned compiler flags would fail). The CUDA helper needs CUDA's headers and
# libtorch_cuda; without them only LibTorchSharp is built.
set -euo pipefail
src=${1:?TorchSharp source folder}; torch_dir=${2:?libtorch folder or python3}; out=${3:?output folder}
if [ "$torch_dir" = python3 ]; then
  torch_dir=$(python3 -c 'import torch, os; print(os.path.dirname(torch.__file__))')
fi
native="$src/src/Native"
[ "${SHIM_ONLY:-0}" = 1 ] || [ -f "$native/LibTorchSharp/CMakeLists.txt" ] || { echo "libtorchsharp.sh: $native/LibTorchSharp/CMakeLists.txt not found (expected a TorchSharp source tree)" >&2; exit 2; }
[ -f "$torch_dir/include/torch/csrc/api/include/torch/torch.h" ] || { echo "libtorchsharp.sh: $torch_dir/include/torch/csrc/api/include/torch/torch.h not found (expected libtorch headers under TORCH_DIR/include)" >&2; exit 2; }
mkdir -p "$out/obj"
out=$(cd "$out" && pwd)
log="$out/build.log"; : >"$log"

# The C++ ABI: from PyTorch when it answers, else from libtorch's own build header, else the modern default.
abi=$(python3 -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))' 2>/dev/null || true)
[ -n "$abi" ] || abi=$(grep -ho '_GLIBCXX_USE_CXX11_ABI=[01]' "$torch_dir/share/cmake/Torch/TorchConfig.cmake" 2>/dev/null | head -1 | cut -d= -f2 || true)
[ -n "$abi" ] || abi=1
jobs=$(nproc)
flags=(-O2 -fPIC -std=c++17 -w -DNDEBUG "-D_GLIBCXX_USE_CXX11_ABI=$abi" -I"$native" -I"$native/LibTorchSharp"
       -I"$torch_dir/include" -I"$torch_dir/include/torch/csrc/api/include")
echo "libtorchsharp.sh: libtorch $torch_dir, C++ ABI $abi, $jobs jobs" | tee -a "$log"

if [ "${SHIM_ONLY:-0}" != 1 ]; then
# The sources CMake would build: the names listed in LibTorchSharp/CMakeLists.txt's set(SOURCES ...).
mapfile -t sources < <(sed -n '/set(SOURCES/,/)/p' "$native/LibTorchSharp/CMakeLists.txt" | grep -oE '[A-Za-z0-9_]+\.(cpp|c)')
# TorchSharp's CMake generates _version.h in its build tree; an empty one serves (it only carries version text).
: >"$out/obj/_version.h"
export out log
compile() {
  local f=$1 o="$out/obj/${1%.*}.o"
  if [[ $f == *.c ]]; then gcc -O2 -fPIC -w -c "$2/$f" -o "$o"; else g++ "${@:3}" -I"$out/obj" -c "$2/$f" -o "$o"; fi
}
export -f compile
failed=0
printf '%s\n' "${sources[@]}" | xargs -P "$jobs" -I{} bash -c 'compile "$@" >>"$log" 2>&1 || { echo "FAILED {}" >>"$log"; exit 1; }' _ {} "$native/LibTorchSharp" "${flags[@]}" || failed=1
if [ $failed -ne 0 ]; then
  echo "libtorchsharp.sh: compiling LibTorchSharp failed:" >&2; grep -m 20 -E 'error|FAILED' "$log" >&2; exit 1
fi
g++ -shared -o "$out/libLibTorchSharp.so" "$out"/obj/*.o -L"$torch_dir/lib" -Wl,-rpath,'$ORIGIN' \
  -Wl,--no-as-needed -ltorch -ltorch_cpu -lc10 >>"$log" 2>&1
echo "libtorchsharp.sh: built $out/libLibTorchSharp.so" | tee -a "$log"
fi

# SharpTitan's CUDA helper, when CUDA's headers and libtorch_cuda are there.
here=$(cd "$(dirname "$0")/.." && pwd)
cuda_inc=""
for d in "${CUDA_HOME:-/nonexistent}/include" /usr/local/cuda/include $(python3 -c 'import nvidia, os; print(" ".join(os.path.join(p, d, "include") for p in nvidia.__path__ for d in os.listdir(p)))' 2>/dev/null); do
  [ -f "$d/cuda_runtime_api.h" ] && { cuda_inc=$d; break; }
done
if [ -n "$cuda_inc" ] && [ -f "$torch_dir/lib/libtorch_cuda.so" ]; then
  if g++ "${flags[@]}" -I"$cuda_inc" -shared -o "$out/libSharpTitanCuda.so" "$here/native/sharptitan_cuda.cpp" \
       -L"$torch_dir/lib" -Wl,--no-as-needed -ltorch_cuda -lc10_cuda -ltorch_cpu -lc10 >>"$log" 2>&1; then
    echo "libtorchsharp.sh: built $out/libSharpTitanCuda.so (CUDA headers $cuda_inc)" | tee -a "$log"
  else
    echo "libtorchsharp.sh: the CUDA helper failed to build (see $log)" >&2; tail -30 "$log" >&2; exit 1
  fi
else
  echo "libtorchsharp.sh: no CUDA headers or libtorch_cuda.so: CUDA helper not built" | tee -a "$log"
fi
