#!/usr/bin/env bash
# ActorCkpt (with its in-process raw baseline) against PyTorch DCP (Debian's python3-torch 1.13) and
# fio on the same workloads. Installs fio and python3-torch when missing (Debian, as root), builds
# actorckpt, then runs bench/compare.py, which alternates them --runs times (default 5) per
# workload, deletes nothing until the end (--tmpfs: runs under /dev/shm) and prints every round,
# the medians and the ratios as a table and as JSON. Arguments go to compare.py (see --help); the
# defaults run 256 MB and 1 GB, 2 and 4 ranks, sharded and replicated. See docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v fio >/dev/null 2>&1 || missing+=(fio)
/usr/bin/python3 -c "import numpy" >/dev/null 2>&1 || missing+=(python3-numpy)
/usr/bin/python3 -c "import sys; sys.path.insert(0, 'bench'); import torch113_on_py311, torch" >/dev/null 2>&1 || missing+=(python3-torch)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "compare.sh needs ${missing[*]}: install them (Debian: apt-get install -y ${missing[*]})" >&2
    exit 2
  fi
  echo "installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

dotnet build src/Cli -c Release -v quiet -nologo >/dev/null
exec /usr/bin/python3 bench/compare.py --actorckpt src/Cli/bin/Release/net10.0/actorckpt "$@"
