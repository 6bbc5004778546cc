#!/usr/bin/env bash
# Rewrites src/{Planner,Io,Actors,Host,TestKit}/PublicAPI.Unshipped.txt from the code: every public type and
# member of the library that PublicAPI.Shipped.txt does not already list, one a line, sorted.
# Run it after changing the public API on purpose; `git diff src/*/PublicAPI.*.txt` then shows the
# change (+ added, - removed) and the build (RS0016/RS0017, errors in src/) passes again.
# PublicAPI.Shipped.txt is never touched: at a release, move the lines there by hand.
# Usage: build/update-public-api.sh        (a few minutes: it loads and analyzes each project)
set -euo pipefail
cd "$(dirname "$0")/.."
projects=(src/Planner src/Io src/Actors src/Host src/TestKit)
for p in "${projects[@]}"; do
  [ -f "$p/PublicAPI.Shipped.txt" ] || printf '#nullable enable\n' > "$p/PublicAPI.Shipped.txt"
  printf '#nullable enable\n' > "$p/PublicAPI.Unshipped.txt"
done
# RS0016's code fix (Microsoft.CodeAnalysis.PublicApiAnalyzers) declares each undeclared symbol
# in PublicAPI.Unshipped.txt; only the library projects reference the analyzer.
# One project at a time: run on the whole solution, the fix-all writes one project's file only.
restore=()
for p in "${projects[@]}"; do
  dotnet format analyzers "$p" --diagnostics RS0016 --severity warn "${restore[@]}"
  restore=(--no-restore)
done
for p in "${projects[@]}"; do
  f="$p/PublicAPI.Unshipped.txt"
  { printf '#nullable enable\n'; grep -v '^#nullable enable$' "$f" | grep -v '^$' | LC_ALL=C sort -u; } > "$f.tmp"
  mv "$f.tmp" "$f"
  echo "$f: $(($(wc -l < "$f") - 1)) public symbols"
done
