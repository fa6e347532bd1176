#!/usr/bin/env bash
# Installs what the tests need (OpenMPI when missing), builds everything, and runs every test.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v mpirun >/dev/null 2>&1; then
  echo "test.sh: OpenMPI not found; installing openmpi-bin libopenmpi-dev with apt-get"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq openmpi-bin libopenmpi-dev >/dev/null
fi

# Tests use tiny shapes and one torch thread per process (CI has 2 cores).
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build SharpTitan.slnx -c Release -nologo -v q -clp:ErrorsOnly

log=$(mktemp)
set +e
dotnet test SharpTitan.slnx -c Release --no-build -nologo "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
summary=$(grep -E "Failed: +[0-9]+, Passed: +[0-9]+" "$log" | tail -1)
if [ -n "$summary" ]; then
  failed=$(sed -E 's/.*Failed: +([0-9]+).*/\1/' <<<"$summary")
  passed=$(sed -E 's/.*Passed: +([0-9]+).*/\1/' <<<"$summary")
  skipped=$(sed -E 's/.*Skipped: +([0-9]+).*/\1/' <<<"$summary")
  echo "tests: $passed passed, $failed failed, $skipped skipped"
fi
rm -f "$log"
exit "$rc"
