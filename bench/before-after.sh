#!/bin/sh
# Alternates the bench of the base build and the new build on tmpfs; each run in a fresh directory.
# Usage: bench/before-after.sh BASE_DLL NEW_DLL OUT.jsonl [RUNS]   (build each with `dotnet build src/Cli -c Release`)
base_dll=$1; new_dll=$2; out=$3; n=${4:-5}; : > $out
for i in $(seq 1 $n); do
  for v in base new; do
    if [ $v = base ]; then dll=$base_dll; else dll=$new_dll; fi
    d=/dev/shm/ab-$v-$i; rm -rf $d
    line=$(dotnet $dll bench --dir $d --json 2>/dev/null | tail -1)
    echo "{\"build\":\"$v\",\"run\":$i,\"r\":$line}" >> $out
    rm -rf $d
  done
done
