#!/usr/bin/env bash
# The crash harness's long schedule: ROUNDS rounds (default 36: three cycles) on one cluster of real
# node processes (a planner node, two writer nodes, two rank nodes): every kill point in the role
# that reaches it, then a planner, a writer and a rank node cut off (network namespaces; as root) or,
# without namespaces, killed by the harness, at a random moment of a save. Prints one line per round
# and a summary; exits non-zero on the first round whose checks fail, with the test's output (node
# logs included). SEED=n replays a schedule. See docs/operations.md, "Crash harness".
set -euo pipefail
rounds="${1:-36}"
case "$rounds" in ''|*[!0-9]*|0) echo "usage: $0 [ROUNDS]  (ROUNDS: a positive number, got '$rounds')" >&2; exit 2 ;; esac
here="$(cd "$(dirname "$0")/../.." && pwd)"
project="$here/tests/ActorCkpt.Cli.Tests/ActorCkpt.Cli.Tests.csproj"
report="$(mktemp -t actorckpt-crash-XXXXXX.log)"
output="$report.test"
trap 'rm -f "$report" "$output"' EXIT

dotnet build "$project" -c Release --nologo -v quiet >/dev/null
ACTORCKPT_CRASH_ROUNDS="$rounds" ACTORCKPT_CRASH_SEED="${SEED:-}" ACTORCKPT_CRASH_REPORT="$report" \
  dotnet test "$project" -c Release --no-build --nologo \
    --filter "FullyQualifiedName~ClusterCrashScheduleSpec" > "$output" 2>&1 &
test_pid=$!
# One line per round as it ends; tail stops once the test run has.
tail -n +1 -f --pid="$test_pid" "$report"
status=0
wait "$test_pid" || status=$?
if [ "$status" -ne 0 ]; then
  echo "--- test output"
  cat "$output"
fi
exit "$status"
