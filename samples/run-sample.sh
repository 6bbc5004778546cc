#!/usr/bin/env bash
# The sample training host run as a real cluster, checked bit for bit.
#
#   samples/run-sample.sh [K]        (K ranks, one process each; default 3)
#
# 1. packs the library (src/Planner, src/Io, src/Actors, src/Host) and ActorCkpt.TestKit (src/TestKit)
#    into artifacts/ under a version of this run's own, builds samples/TrainingHost against those
#    packages only (samples/nuget.config: ActorCkpt* from artifacts/, the rest from the usual
#    registry), and runs the sample's xUnit tests (samples/TrainingHost.Tests, on the TestKit package);
# 2. reference: K processes form a cluster on 127.0.0.1 and train to the end, uninterrupted;
# 3. interrupted: in a fresh root, K processes train; once a checkpoint has committed, one process
#    is killed with SIGKILL between checkpoints, the others are killed too (their next save can
#    never complete without it), and K new processes resume from the newest committed step;
# 4. the resumed run's losses from the resume point on and its final parameters must equal the
#    reference's bit for bit;
# 5. the newest checkpoint is loaded on K-1 processes (resharded); the tensors they load must put
#    together the very tensors that were saved.
# One summary line per check, each with `bit-exact: true` or `bit-exact: false`; the exit status is
# non-zero on any mismatch or failure. Every process started here is killed on exit.
#
# Environment: STEPS (30), SAVE_EVERY (5), STEP_MS (wall time a step takes at least, 150),
# KILL_RANK (the rank killed, default K-1), SAMPLE_WORK (where roots and logs go, default a new
# temporary directory, kept on failure).
set -euo pipefail

K=${1:-3}
if ! [[ $K =~ ^[0-9]+$ ]] || (( K < 2 )); then
  echo "usage: $0 [K]   (K >= 2 ranks: the last check loads on K-1)" >&2
  exit 2
fi
STEPS=${STEPS:-30}
SAVE_EVERY=${SAVE_EVERY:-5}
STEP_MS=${STEP_MS:-150}
KILL_RANK=${KILL_RANK:-$((K - 1))}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SAMPLE=$REPO/samples/TrainingHost
WORK=${SAMPLE_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/actorckpt-sample.XXXXXX")}
mkdir -p "$WORK"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

T0=$(date +%s.%N)
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
say() { echo "[$(elapsed "$T0")s] $*"; }

PIDS=()
FAILED=0
VERSION=""
cleanup() {
  local status=$?
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  # The packages of this run's own version, extracted by the restore: nobody else uses them.
  if [[ -n $VERSION ]]; then
    local packages=${NUGET_PACKAGES:-$HOME/.nuget/packages}
    for id in actorckpt actorckpt.actors actorckpt.io actorckpt.planner actorckpt.testkit; do rm -rf "${packages:?}/$id/$VERSION"; done
  fi
  if (( status == 0 )) && [[ -z ${SAMPLE_WORK:-} ]]; then rm -rf "$WORK"; else echo "logs and roots kept in $WORK" >&2; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- pack and build ---------------------------------------------------------------------------
# The package version of this run: the repository's version plus a unique prerelease label, so the
# restore below can only take the packages made now (never a stale copy of the same version).
BASE=$(dotnet msbuild "$REPO/src/Host/ActorCkpt.Host.csproj" -getProperty:Version | tr -d '[:space:]')
[[ $BASE == *-* ]] && VERSION="$BASE.sample.$(date +%s).$$" || VERSION="$BASE-sample.$(date +%s).$$"
mkdir -p "$REPO/artifacts"
rm -f "$REPO"/artifacts/ActorCkpt*-sample.*.nupkg   # earlier runs' packages of this script
t=$(date +%s.%N)
# PackageVersion alone: the assemblies stay as built (an incremental build), only the packages carry
# the run's version. library.slnf names the four library projects and the TestKit (not the tool, not the tests).
dotnet pack "$REPO/samples/library.slnf" -c Release -o "$REPO/artifacts" -p:PackageVersion="$VERSION" -nologo -v:q -clp:ErrorsOnly \
  > "$WORK/pack.log" 2>&1 || { cat "$WORK/pack.log"; echo "pack failed" >&2; exit 1; }
say "packed ActorCkpt $VERSION into artifacts/ in $(elapsed "$t")s"

t=$(date +%s.%N)
rm -rf "$SAMPLE/obj"
dotnet build "$SAMPLE/TrainingHost.csproj" -c Release -p:ActorCkptVersion="$VERSION" -nologo -v:q -clp:ErrorsOnly \
  > "$WORK/build.log" 2>&1 || { cat "$WORK/build.log"; echo "sample build failed" >&2; exit 1; }
HOST_DLL=$SAMPLE/bin/Release/net10.0/TrainingHost.dll
# What the sample was built against: the assets file names every package the restore took.
if ! grep -q "\"ActorCkpt/$VERSION\"" "$SAMPLE/obj/project.assets.json"; then
  echo "the sample did not restore ActorCkpt $VERSION from artifacts/" >&2; exit 1
fi
say "built samples/TrainingHost against ActorCkpt $VERSION and TorchSharp-cpu in $(elapsed "$t")s"

# A host whose start fails says why in one line of its own and exits 1 (its root is a file here);
# the host's log (stderr too) says it with the stack, as Microsoft.Extensions.Hosting logs a failed start.
echo "not a directory" > "$WORK/a-file"
read -r BAD_PORT <<< "$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
set +e
timeout 120 dotnet "$HOST_DLL" --rank 0 --world 1 --port "$BAD_PORT" --seed-port "$BAD_PORT" --root "$WORK/a-file" > "$WORK/bad-root.log" 2> "$WORK/bad-root.err"
code=$?
set -e
if (( code == 1 )) && grep -q "^TrainingHost: .*is a file, not a directory$" "$WORK/bad-root.err"; then
  say "a root that is a file: $(grep "^TrainingHost: " "$WORK/bad-root.err") (exit 1)"
else
  echo "a root that is a file: exit $code, stderr:" >&2; head -n 5 "$WORK/bad-root.err" >&2
  FAILED=1
fi

# The sample's own tests, as a user writes them with ActorCkpt.TestKit: a save whose Nth write fails
# is retried and the resumed run is bit-exact; a node of an in-process cluster is killed mid-save.
t=$(date +%s.%N)
TESTS=$REPO/samples/TrainingHost.Tests
rm -rf "$TESTS/obj"
if dotnet test "$TESTS/TrainingHost.Tests.csproj" -c Release -p:ActorCkptVersion="$VERSION" -nologo -v:q > "$WORK/tests.log" 2>&1 \
   && grep -q "\"ActorCkpt.TestKit/$VERSION\"" "$TESTS/obj/project.assets.json"; then
  say "samples/TrainingHost.Tests on ActorCkpt.TestKit $VERSION: $(grep -Eo 'Passed: +[0-9]+' "$WORK/tests.log" | tail -n 1) in $(elapsed "$t")s"
else
  tail -n 40 "$WORK/tests.log" >&2
  echo "samples/TrainingHost.Tests failed (or did not restore ActorCkpt.TestKit $VERSION): log in $WORK/tests.log" >&2
  FAILED=1
fi

# ---- running ranks ----------------------------------------------------------------------------
free_ports() {  # prints $1 free TCP ports on 127.0.0.1
  python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks: s.close()
PY
}

declare -A RANK_PID
# start_cluster NAME ROOT WORLD [extra args]: starts WORLD processes, logs in $WORK/NAME.rankR.log.
start_cluster() {
  local name=$1 root=$2 world=$3; shift 3
  local ports; read -r -a ports <<< "$(free_ports "$world")"
  local r
  for (( r = 0; r < world; r++ )); do
    dotnet "$HOST_DLL" --rank "$r" --world "$world" --port "${ports[$r]}" --seed-port "${ports[0]}" --root "$root" \
      --steps "$STEPS" --save-every "$SAVE_EVERY" --step-ms "$STEP_MS" "$@" \
      > "$WORK/$name.rank$r.log" 2> "$WORK/$name.rank$r.err" &
    RANK_PID[$name.$r]=$!
    PIDS+=("$!")
  done
}

# wait_cluster NAME WORLD TIMEOUT: waits for every process; fails naming a rank that failed or hung.
wait_cluster() {
  local name=$1 world=$2 timeout=$3 r pid deadline=$(( $(date +%s) + $3 ))
  for (( r = 0; r < world; r++ )); do
    pid=${RANK_PID[$name.$r]}
    while kill -0 "$pid" 2>/dev/null; do
      if (( $(date +%s) > deadline )); then
        echo "$name: rank $r did not finish within ${timeout}s; its log ends:" >&2
        tail -n 5 "$WORK/$name.rank$r.log" "$WORK/$name.rank$r.err" >&2
        return 1
      fi
      sleep 0.2
    done
    if ! wait "$pid"; then
      echo "$name: rank $r failed; its log ends:" >&2
      tail -n 20 "$WORK/$name.rank$r.log" "$WORK/$name.rank$r.err" >&2
      return 1
    fi
  done
}

# wait_line FILE REGEX TIMEOUT [PID]: waits until FILE has a line matching REGEX (prints it); fails
# at the deadline or when PID has exited without writing it.
wait_line() {
  local file=$1 regex=$2 timeout=$3 pid=${4:-} deadline=$(( $(date +%s) + $3 )) line
  while true; do
    if line=$(grep -m1 -E "$regex" "$file" 2>/dev/null); then echo "$line"; return 0; fi
    if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
      grep -m1 -E "$regex" "$file" 2>/dev/null && return 0
      echo "process $pid ended before '$regex' appeared in $file" >&2; return 1
    fi
    (( $(date +%s) <= deadline )) || { echo "no line '$regex' in $file within ${timeout}s" >&2; return 1; }
    sleep 0.05
  done
}

fail() {  # a check fails; its first reason is the one reported
  ok=false
  [[ -n $detail ]] || detail=$1
}

summary() {  # summary CHECK true|false DETAIL
  echo "check $1: bit-exact: $2 ($3)"
  [[ $2 == true ]] || FAILED=1
}

# A run that failed (a rank exited with an error, hung, or never reached a checkpoint) leaves
# nothing to compare: every check still gets its line, false, naming the failure.
CHECKS=("losses after resume" "final parameters" "resharded load on $((K - 1)) ranks")
abort_checks() {
  local c
  for c in "${CHECKS[@]}"; do echo "check $c: bit-exact: false ($1)"; done
  exit 1
}
count_lines() { grep -c . || true; }

# ---- 1. reference run -------------------------------------------------------------------------
t=$(date +%s.%N)
start_cluster ref "$WORK/ref-root" "$K"
wait_cluster ref "$K" 180 || abort_checks "the reference run failed"
say "reference run: $K ranks, $STEPS steps, a checkpoint every $SAVE_EVERY, in $(elapsed "$t")s"

# ---- 2. interrupted run and resume ------------------------------------------------------------
t=$(date +%s.%N)
ROOT=$WORK/crash-root
start_cluster crash "$ROOT" "$K"
# Kill the victim once the second checkpoint has committed (the first save of a fresh process is
# the slow one), so that it dies between that checkpoint and the next.
TARGET=$(( 2 * SAVE_EVERY < STEPS ? 2 * SAVE_EVERY : SAVE_EVERY ))
VICTIM=${RANK_PID[crash.$KILL_RANK]}
wait_line "$WORK/crash.rank$KILL_RANK.log" "^committed $TARGET " 120 "$VICTIM" > /dev/null ||
  abort_checks "the interrupted run never committed step $TARGET"
{ kill -KILL "$VICTIM"; wait "$VICTIM" || true; } 2>/dev/null
killed_at=$(awk '$1 == "loss" { s = $2 } END { print s + 0 }' "$WORK/crash.rank$KILL_RANK.log")
say "interrupted run: rank $KILL_RANK SIGKILLed at step $killed_at, after step $TARGET had committed"
# The others go on to their next save, which can never complete without the victim: kill them too
# (stderr of the block: bash reports each killed job as it reaps it).
{
  for (( r = 0; r < K; r++ )); do kill -KILL "${RANK_PID[crash.$r]}" 2>/dev/null || true; done
  for (( r = 0; r < K; r++ )); do wait "${RANK_PID[crash.$r]}" || true; done
} 2>/dev/null
# The newest step any rank saw committed before the kills: the restart must resume from it or later.
NEWEST=$(awk '$1 == "committed" && $2 > s { s = $2 } END { print s + 0 }' "$WORK"/crash.rank*.log)
reached=$(for (( r = 0; r < K; r++ )); do awk '$1 == "loss" { s = $2 } END { printf "%d ", s }' "$WORK/crash.rank$r.log"; done)
say "all $K processes killed, at steps ${reached% } of ranks 0..$((K - 1)); newest step committed: $NEWEST"

start_cluster resume "$ROOT" "$K"
wait_cluster resume "$K" 180 || abort_checks "the resumed run failed"
RESUMED=$(awk '$1 == "resume" { print $2; exit }' "$WORK/resume.rank0.log")
say "resumed run: from step ${RESUMED:-?} to $STEPS in $(elapsed "$t")s"

# ---- 3. compare with the reference --------------------------------------------------------------
ok=true; detail=""
if [[ -z $RESUMED ]]; then fail "the restarted ranks did not resume from a checkpoint"; fi
if [[ -n $RESUMED ]] && (( RESUMED < NEWEST )); then fail "resumed from $RESUMED, older than step $NEWEST committed before the kill"; fi
compared=0
for (( r = 0; r < K; r++ )); do
  resumed_r=$(awk '$1 == "resume" { print $2; exit }' "$WORK/resume.rank$r.log")
  [[ $resumed_r == "$RESUMED" ]] || { fail "rank $r resumed from '${resumed_r}', rank 0 from '$RESUMED'"; }
  # loss STEP GLOBAL_BITS LOCAL_BITS ...: the bits of every step after the resume point.
  want=$(awk -v from="${RESUMED:-0}" '$1 == "loss" && $2 > from { print $2, $3, $4 }' "$WORK/ref.rank$r.log")
  got=$(awk '$1 == "loss" { print $2, $3, $4 }' "$WORK/resume.rank$r.log")
  if [[ -z $want || $want != "$got" ]]; then
    fail "rank $r's losses after step $RESUMED differ from the reference's"
    diff <(echo "$want") <(echo "$got") | head -n 6 >&2 || true
  fi
  compared=$(( compared + $(echo "$want" | count_lines) ))
done
# The global entry the ranks loaded: the losses of steps 1..RESUMED, as the reference computed them.
want=$(awk -v to="${RESUMED:-0}" '$1 == "loss" && $2 <= to { print $3 }' "$WORK/ref.rank0.log" | paste -sd, -)
for (( r = 0; r < K; r++ )); do
  got=$(awk '$1 == "history" { print $3 }' "$WORK/resume.rank$r.log")
  [[ -n $want && $want == "$got" ]] || { fail "rank $r loaded a loss history that differs from the reference's steps 1..$RESUMED"; }
done
[[ $ok == true ]] && detail="$compared losses of steps $((RESUMED + 1))..$STEPS on $K ranks, and the loss history loaded from step $RESUMED, equal the uninterrupted run's"
summary "losses after resume from step ${RESUMED:-?}" "$ok" "$detail"

ok=true; detail=""
for (( r = 0; r < K; r++ )); do
  want=$(awk '$1 == "params" { print $3 }' "$WORK/ref.rank$r.log")
  got=$(awk '$1 == "params" { print $3 }' "$WORK/resume.rank$r.log")
  if [[ -z $want || $want != "$got" ]]; then fail "rank $r: reference sha256 ${want:-none}, resumed ${got:-none}"; fi
done
[[ $ok == true ]] && detail="the final parameters of all $K ranks equal the uninterrupted run's (sha256)"
summary "final parameters" "$ok" "$detail"

# ---- 4. load the newest checkpoint on K-1 processes -------------------------------------------
t=$(date +%s.%N)
W=$((K - 1))
start_cluster reshard "$ROOT" "$W" --load-only
wait_cluster reshard "$W" 120 || { CHECKS=("${CHECKS[2]}"); abort_checks "the load on $W ranks failed"; }
LOADED=$(awk '$1 == "resume" { print $2; exit }' "$WORK/reshard.rank0.log")
say "loaded step ${LOADED:-?} (saved by $K ranks) on $W ranks in $(elapsed "$t")s"

# Put each sharded tensor together from its rows, in order: SAVED from what the K ranks printed
# when they saved the step, LOADED from what the K-1 ranks printed after loading it.
whole() {  # whole KIND STEP LOGS...: "key hex-of-the-whole-tensor" per sharded key
  local kind=$1 step=$2; shift 2
  awk -v kind="$kind-shard" -v step="$step" '$1 == kind && $2 == step { print $3, $4, $6 }' "$@" |
    sort -k1,1 -k2,2n | awk '{ if ($1 != key) { if (key != "") print key, hex; key = $1; hex = "" } hex = hex $3 } END { if (key != "") print key, hex }'
}
ok=true; detail=""
if [[ -z $LOADED ]]; then fail "the K-1 ranks did not load a step"; fi
saved_logs=("$WORK"/resume.rank*.log)
want=$(whole saved "${LOADED:-0}" "${saved_logs[@]}")
got=$(whole loaded "${LOADED:-0}" "$WORK"/reshard.rank*.log)
if [[ -z $want || $want != "$got" ]]; then
  fail "sharded tensors of step $LOADED loaded on $W ranks differ from those saved on $K"
fi
want_rep=$(awk -v step="${LOADED:-0}" '$1 == "saved-replicated" && $2 == step { print $3 }' "${saved_logs[@]}" | sort -u)
got_rep=$(awk -v step="${LOADED:-0}" '$1 == "loaded-replicated" && $2 == step { print $3 }' "$WORK"/reshard.rank*.log | sort -u)
if [[ -z $want_rep || $(echo "$want_rep" | wc -l) -ne 1 || $want_rep != "$got_rep" ]]; then
  fail "replicated tensors and global entries of step $LOADED: saved ${want_rep:-none}, loaded ${got_rep:-none}"
fi
# Each K-1 rank also compared its slices with the whole tensors read by CheckpointReader (read-only).
checks=$(awk '$1 == "reader-check"' "$WORK"/reshard.rank*.log)
expected_checks=$(( $(echo "$want" | count_lines) * W ))
equal_checks=$(echo "$checks" | grep -c ' equal$' || true)
if (( expected_checks == 0 || equal_checks != expected_checks || $(echo "$checks" | count_lines) != expected_checks )); then
  fail "CheckpointReader's whole tensors and the loaded slices: $equal_checks of $expected_checks equal"
fi
if [[ $ok == true ]]; then
  keys=$(echo "$want" | awk '{ printf "%s%s", sep, $1; sep = ", " }')
  detail="step $LOADED saved by $K ranks, loaded by $W: whole $keys and the replicated state equal what was saved; each slice equals CheckpointReader's"
fi
summary "resharded load on $W ranks" "$ok" "$detail"

say "total $(elapsed "$T0")s"
exit "$FAILED"
