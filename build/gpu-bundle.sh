#!/usr/bin/env bash
# Prepares what benchmarks/gpu/run.sh needs on a GPU machine that has PyTorch but no .NET and no network, in the
# ignored folder .gpu/ (carried to the device by name):
#   .gpu/sharptitan-linux-x64.tar.xz  a self-contained publish of the CLI and the benchmarks, without libtorch's
#                                      natives (the PyTorch install's libtorch replaces them there)
#   .gpu/torchsharp-native.tar.gz     TorchSharp's native sources at the commit of the managed 0.107.0 assembly,
#                                      from a fetched copy of TorchSharp (TORCHSHARP_SRC; never committed)
#   .gpu/openmpi.tar.xz               where OpenMPI's Debian packages are installed: a relocatable OpenMPI for the
#                                      shared-GPU check (build/mpi-bundle.sh)
# Usage: TORCHSHARP_SRC=/path/to/TorchSharp build/gpu-bundle.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=.gpu; publish=$out/publish
rm -rf "$publish"; mkdir -p "$out"
dotnet publish benchmarks/SharpTitan.Benchmarks -c Release -r linux-x64 --self-contained -p:TorchBackend=none -o "$publish" -nologo -v q -clp:ErrorsOnly
# libtorch, c10, TorchSharp's native and libgomp come from the PyTorch install on the GPU machine.
rm -f "$publish"/libtorch*.so "$publish"/libc10*.so "$publish"/libLibTorchSharp.so "$publish"/libgomp*.so* \
      "$publish"/libjitbackend_test.so "$publish"/libnnapi_backend.so "$publish"/libbackend_with_compiler.so \
      "$publish"/libaoti_custom_ops.so "$publish"/libshm.so "$publish"/*.pdb
tar -C "$publish" -cJf "$out/sharptitan-linux-x64.tar.xz" .
src=${TORCHSHARP_SRC:?set TORCHSHARP_SRC to a TorchSharp source tree at commit c20b6a1 (the 0.107.0 release)}
tar -C "$src" -czf "$out/torchsharp-native.tar.gz" src/Native
if dpkg -L openmpi-bin >/dev/null 2>&1; then build/mpi-bundle.sh "$out/openmpi.tar.xz" >/dev/null; fi
du -h "$out"/*.tar.*
