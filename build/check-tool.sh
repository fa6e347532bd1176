#!/usr/bin/env bash
# Packs both NuGet packages into a temporary feed, installs the `sharptitan` .NET tool from it into a temporary
# --tool-path (no other package source: it works offline), and runs the installed tool: --version, config --help,
# and `peak`, which loads libtorch from the natives the tool package carries. Prints sizes and times.
#   build/check-tool.sh              builds, then packs
#   build/check-tool.sh --no-build   packs what `dotnet build -c Release` built (the test suite runs it so)
#   CONFIGURATION=Debug build/check-tool.sh ...   another configuration (default Release)
set -euo pipefail
cd "$(dirname "$0")/.."
nobuild=()
if [ "${1:-}" = "--no-build" ]; then nobuild=(--no-build); fi
config=${CONFIGURATION:-Release}
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
work=$(mktemp -d "${TMPDIR:-/tmp}/sharptitan-tool.XXXXXX")
trap 'rm -rf "$work"' EXIT
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
fail() { echo "check-tool: FAILED: $*" >&2; exit 1; }

t0=$(now)
dotnet pack src/SharpTitan/SharpTitan.csproj -c "$config" -o "$work/feed" "${nobuild[@]}" -nologo -v q -clp:ErrorsOnly
dotnet pack src/SharpTitan.Cli/SharpTitan.Cli.csproj -c "$config" -o "$work/feed" "${nobuild[@]}" -nologo -v q -clp:ErrorsOnly
t1=$(now)
lib=$(ls "$work"/feed/SharpTitan.[0-9]*.nupkg) || fail "no SharpTitan package"
tool=$(ls "$work"/feed/SharpTitan.Cli.[0-9]*.nupkg) || fail "no SharpTitan.Cli package"
unzip -l "$lib" | grep -q "lib/net10.0/SharpTitan.Core.dll" || fail "$lib lacks lib/net10.0/SharpTitan.Core.dll"
unzip -l "$lib" | grep -q "buildTransitive/SharpTitan.targets" || fail "$lib lacks buildTransitive/SharpTitan.targets"
unzip -l "$tool" | grep -q "runtimes/linux-x64/native/libtorch_cpu.so" || fail "$tool lacks libtorch's natives"

cat > "$work/nuget.config" <<CONFIG
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="local" value="$work/feed" />
  </packageSources>
</configuration>
CONFIG
t2=$(now)
dotnet tool install SharpTitan.Cli --tool-path "$work/tools" --configfile "$work/nuget.config" >/dev/null
t3=$(now)
st="$work/tools/sharptitan"

version=$("$st" --version) || fail "sharptitan --version exited $?"
expected=$(basename "$tool" .nupkg); expected=${expected#SharpTitan.Cli.}
[[ "$version" == "$expected"* ]] || fail "sharptitan --version printed '$version', expected $expected"
help=$("$st" config --help) || fail "sharptitan config --help exited $?"
grep -q "^\[training\]" <<<"$help" && grep -q "local_batch_size:" <<<"$help" || fail "sharptitan config --help does not list the [training] keys"
peak=$(SHARPTITAN_CACHE="$work/cache" OMP_NUM_THREADS=1 "$st" peak --threads 1 2>&1) || fail "sharptitan peak (libtorch from the tool's natives): $peak"
t4=$(now)

mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
echo "check-tool: packages: $(basename "$lib") $(mib "$(stat -c %s "$lib")"), $(basename "$tool") $(mib "$(stat -c %s "$tool")")"
echo "check-tool: installed: $(du -sm "$work/tools" | cut -f1) MiB in $work/tools (the tool's files and NuGet's copies of its package)"
echo "check-tool: times: pack $(secs "$t0" "$t1") s, install $(secs "$t2" "$t3") s, runs $(secs "$t3" "$t4") s"
echo "check-tool: sharptitan --version: $version; config --help: $(wc -l <<<"$help") lines; peak: $(tail -1 <<<"$peak")"
echo "check-tool: OK"
