#!/bin/sh
# Alternates the bench of the base build and the new build; each run in a new directory.
# Usage: bench/before-after.sh BASE_DLL NEW_DLL OUT.jsonl [RUNS] [ROOT]   (build each with `dotnet build src/Cli -c Release`)
# ROOT defaults to /dev/shm: there each run's directory is deleted after it (keeping every run would
# hold RUNS x 2 checkpoints in RAM; tmpfs writes measure the same after a delete). On a disk ROOT,
# nothing is deleted until the end: writing into just-freed blocks is faster (docs/benchmarks.md).
base_dll=$1; new_dll=$2; out=$3; n=${4:-5}; root=${5:-/dev/shm}; : > $out
memory=$(stat -f -c %T "$root")
for i in $(seq 1 $n); do
  for v in base new; do
    if [ $v = base ]; then dll=$base_dll; else dll=$new_dll; fi
    d=$root/ab-$$-$v-$i
    line=$(dotnet $dll bench --dir $d --json 2>/dev/null | tail -1)
    echo "{\"build\":\"$v\",\"run\":$i,\"r\":$line}" >> $out
    if [ "$memory" = tmpfs ]; then rm -rf $d; fi
  done
done
rm -rf $root/ab-$$-*
