#!/usr/bin/env bash
# Builds SharpTitan (Release) and trains. NPROC>1 starts that many ranks under mpirun.
#   ./run_train.sh                                  debug model on the embedded sample corpus
#   CONFIG_FILE=configs/llama3_8b.toml ./run_train.sh --training.steps 5
#   NPROC=4 ./run_train.sh --training.steps 20
set -euo pipefail
cd "$(dirname "$0")"
NPROC=${NPROC:-1}
CONFIG_FILE=${CONFIG_FILE:-configs/debug_model.toml}
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build src/SharpTitan.Cli/SharpTitan.Cli.csproj -c Release -nologo -v q -clp:ErrorsOnly
BIN=src/SharpTitan.Cli/bin/Release/net10.0/sharptitan
if [ "$NPROC" -gt 1 ]; then
  exec "$BIN" launch -n "$NPROC" -- train --config "$CONFIG_FILE" "$@"
else
  exec "$BIN" train --config "$CONFIG_FILE" "$@"
fi
