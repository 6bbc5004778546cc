#!/usr/bin/env bash
# Fuzzes one parser under afl-fuzz (Debian's afl++) for a number of minutes:
#   fuzz/run.sh TARGET MINUTES [OUT]     TARGET: metadata, metadata-bin, safetensors, hf-index, settings, replica
# Builds fuzz/ActorCkpt.Fuzz into a fresh folder, instruments the project's assemblies there with
# SharpFuzz (the dotnet tool SharpFuzz.CommandLine, installed under fuzz/.tools when missing), and
# runs afl-fuzz from the seed corpus fuzz/corpus/TARGET. Findings land in OUT (default
# fuzz/findings/TARGET): OUT/default/crashes and OUT/default/hangs, each file one input. A crash is
# an exception other than the target's documented "bad input" ones; a hang is an input that runs
# over 5 s. Replay one with: dotnet fuzz/.build/TARGET/plain/ActorCkpt.Fuzz.dll replay TARGET FILE
# and, once fixed, copy it to fuzz/regressions/TARGET/ so the test suite keeps replaying it.
set -euo pipefail
usage="usage: fuzz/run.sh TARGET MINUTES [OUT]  (TARGET: metadata, metadata-bin, safetensors, hf-index, settings, replica)"
target=${1:?$usage}
minutes=${2:?$usage}
case "$target" in metadata|metadata-bin|safetensors|hf-index|settings|replica) ;; *) echo "$usage" >&2; exit 2 ;; esac
[[ "$minutes" =~ ^[1-9][0-9]*$ ]] || { echo "MINUTES must be a positive whole number: $usage" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
out=${3:-$here/findings/$target}
command -v afl-fuzz >/dev/null || { echo "afl-fuzz is missing: apt-get install afl++" >&2; exit 1; }

tools=$here/.tools
[ -x "$tools/sharpfuzz" ] || dotnet tool install --tool-path "$tools" SharpFuzz.CommandLine --version 2.3.0 >/dev/null

# A fresh copy each run: sharpfuzz instruments in place and refuses an assembly instrumented before.
# plain/ is left as built, for replaying findings (an instrumented build runs only under afl-fuzz).
build=$here/.build/$target
rm -rf "$build"
dotnet build "$here/ActorCkpt.Fuzz" -c Release -o "$build/plain" -v q -nologo 2>&1 | grep -E "rror CS|error" && exit 1
cp -r "$build/plain" "$build/afl"
for assembly in ActorCkpt.Planner.dll ActorCkpt.Io.dll ActorCkpt.Actors.dll; do
  "$tools/sharpfuzz" "$build/afl/$assembly" >/dev/null
done

# afl-fuzz refuses an output folder of an earlier run: that run's findings are kept beside it.
[ ! -d "$out/default" ] || mv "$out" "$out.$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out/tmp"
# dotnet itself is not built by afl's compilers (SKIP_BIN_CHECK); SharpFuzz speaks the fork-server
# protocol from inside the process. The host may pipe core dumps elsewhere: crashes are exceptions
# here, reported by SharpFuzz, so that does not matter.
# -V stops fuzzing after MINUTES; timeout bounds the start (calibration) too.
# TMPDIR: what a killed harness leaves (hf-index's shard folder) stays with the findings.
timeout $((minutes * 60 + 300)) env TMPDIR="$out/tmp" AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1 \
  afl-fuzz -V $((minutes * 60)) -t 5000 -m none -i "$here/corpus/$target" -o "$out" -- dotnet "$build/afl/ActorCkpt.Fuzz.dll" "$target" \
  > "$out/afl.log" 2>&1 || { tail -n 30 "$out/afl.log" >&2; exit 1; }

grep -E "execs_done|paths_total|corpus_count|saved_crashes|unique_crashes|saved_hangs|unique_hangs" "$out/default/fuzzer_stats" || true
crashes=$(find "$out/default/crashes" -type f -name 'id:*' 2>/dev/null | sort)
hangs=$(find "$out/default/hangs" -type f -name 'id:*' 2>/dev/null | sort)
if [ -z "$crashes$hangs" ]; then echo "$target: no crash, no hang in $minutes min"; exit 0; fi
[ -z "$hangs" ] || printf '%s: hang (over 5 s):\n%s\n' "$target" "$hangs"
if [ -n "$crashes" ]; then
  echo "$target: crashes (replayed in-process, 30 s at most each):"
  for f in $crashes; do timeout 30 dotnet "$build/plain/ActorCkpt.Fuzz.dll" replay "$target" "$f" || true; done
fi
exit 3
