#!/usr/bin/python3
"""Runs fio (the raw limit), PyTorch DCP (bench/dcp_peer.py) and `actorckpt bench` on the same
workloads, alternating them --repeats times, and prints the medians and ratios as a table and as
one JSON object with the medians and every run (also written to --json-out when given). Started
by bench/compare.sh.

For each workload the three move the same bytes: fio writes and reads as many files as ActorCkpt
writes (learned from an unmeasured ActorCkpt run first), with the bytes split evenly over them.
Ratios are of speed (the other's time over ActorCkpt's), so above 1 means ActorCkpt is faster:
  vs raw   fio time / ActorCkpt time (save: write with fsync; loads: sequential read)
  vs DCP   DCP time / ActorCkpt time
Save is ActorCkpt's synchronous save in place (committed, fsynced) against DCP's save (fsynced,
one file per rank); both are a second save in a process that saved once. Loads go into tensors
allocated before the clock starts: warm (files in the page cache) and cold (after dropping them
with posix_fadvise, as fio's invalidate does).
"""
import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

# glibc's malloc raises its mmap threshold as large blocks are freed, after which freed tensors
# stay in its heaps: the bench, which allocates and frees about 20 GiB of tensors at 1 GiB × 4
# ranks replicated, then peaked at 18.6 GiB instead of 13.9 and was once killed for memory. A
# fixed threshold returns freed tensors to the system at once.
ACTORCKPT_ENV = ["env", "MALLOC_MMAP_THRESHOLD_=4194304"]


def run(command):
    """Runs a command and returns its stdout; exits naming the command when it fails."""
    done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return done.stdout


def run_json(command):
    """Runs a command and returns the JSON object on the last line of its stdout."""
    return json.loads(run(command).strip().splitlines()[-1])


def fio(directory, mode, files, total_bytes, invalidate):
    """Seconds fio takes (its own job runtime, the slowest of the group) for one sequential pass."""
    command = ["fio", "--name=raw", f"--directory={directory}", f"--rw={mode}", "--bs=4M", "--ioengine=psync",
               f"--numjobs={files}", f"--size={total_bytes // files}", "--group_reporting", "--output-format=json",
               f"--invalidate={invalidate}"]
    if mode == "write":
        command.append("--end_fsync=1")
    return json.loads(run(command))["jobs"][0][mode]["runtime"] / 1000.0


def raw(scratch, files, total_bytes):
    directory = os.path.join(scratch, "fio")
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory)
    write = fio(directory, "write", files, total_bytes, invalidate=1)
    warm = fio(directory, "read", files, total_bytes, invalidate=0)
    cold = fio(directory, "read", files, total_bytes, invalidate=1)
    shutil.rmtree(directory, ignore_errors=True)
    return {"write_s": write, "read_warm_s": warm, "read_cold_s": cold}


def peer(scratch, w):
    return run_json(["/usr/bin/python3", os.path.join(HERE, "dcp_peer.py"), "--dir", os.path.join(scratch, "dcp"),
                     "--size-mb", str(w["size_mb"]), "--ranks", str(w["ranks"]), "--layout", w["layout"],
                     "--tensors", str(w["tensors"]), "--port", str(random.randint(29500, 29999))])


def actorckpt(binary, scratch, w):
    result = run_json(ACTORCKPT_ENV + [binary, "bench", "--dir", os.path.join(scratch, "actorckpt"), "--size-mb", str(w["size_mb"]),
                       "--ranks", str(w["ranks"]), "--layout", w["layout"], "--tensors", str(w["tensors"]), "--json"])
    if not result["bit_exact"]:
        sys.exit(f"actorckpt bench was not bit-exact on {w}")
    return result


def median(runs, key):
    return round(statistics.median(r[key] for r in runs), 4)


def measure(args, w):
    files = actorckpt(args.actorckpt, args.dir, w)["files"]
    raws, peers, ours = [], [], []
    for i in range(args.repeats):
        print(f"  {w['name']}: round {i + 1} of {args.repeats}", file=sys.stderr, flush=True)
        raws.append(raw(args.dir, files, w["size_mb"] << 20))
        peers.append(peer(args.dir, w))
        if not peers[-1]["bit_exact"]:
            sys.exit(f"DCP was not bit-exact on {w}")
        ours.append(actorckpt(args.actorckpt, args.dir, w))
    m = {
        "workload": w["name"], "bytes": w["size_mb"] << 20, "ranks": w["ranks"], "layout": w["layout"], "files": files,
        "repeats": args.repeats,
        "raw": {k: median(raws, k) for k in ("write_s", "read_warm_s", "read_cold_s")},
        "dcp": {k: median(peers, k) for k in ("save_s", "load_warm_s", "load_cold_s")},
        "actorckpt": {k: median(ours, k) for k in ("save_s", "staged_s", "async_save_s", "memcpy_s", "staged_bytes", "load_s",
                                                   "load_cold_s", "load_reshard_s", "save_peak_growth_bytes")},
    }
    m["runs"] = {"raw": raws, "dcp": peers, "actorckpt": ours}
    a, r, d = m["actorckpt"], m["raw"], m["dcp"]
    m["ratios"] = {
        "save_vs_raw": round(r["write_s"] / a["save_s"], 3),
        "save_vs_dcp": round(d["save_s"] / a["save_s"], 3),
        "load_warm_vs_raw": round(r["read_warm_s"] / a["load_s"], 3),
        "load_warm_vs_dcp": round(d["load_warm_s"] / a["load_s"], 3),
        "load_cold_vs_raw": round(r["read_cold_s"] / a["load_cold_s"], 3),
        "load_cold_vs_dcp": round(d["load_cold_s"] / a["load_cold_s"], 3),
        "reshard_vs_same": round(a["load_s"] / a["load_reshard_s"], 3),
        # Replicated, every rank fills a whole copy: onto one rank more, the load fills (ranks+1)/ranks
        # the bytes. Per byte filled, the two loads compare like for like.
        "reshard_vs_same_per_byte": round(a["load_s"] / a["load_reshard_s"] * (
            (w["ranks"] + 1) / w["ranks"] if w["layout"] == "replicated" else 1), 3),
        "staged_over_sync_save": round(a["staged_s"] / a["save_s"], 3),
        "staged_over_memcpy": round(a["staged_s"] / a["memcpy_s"], 3),
    }
    return m


TARGETS = [
    ("save_vs_raw", ">=", 0.85), ("save_vs_dcp", ">", 1.0),
    ("load_warm_vs_dcp", ">=", 1.5), ("load_warm_vs_raw", ">=", 0.85),
    ("load_cold_vs_dcp", ">=", 1.5), ("load_cold_vs_raw", ">=", 0.85),
    ("reshard_vs_same", ">=", 0.7), ("reshard_vs_same_per_byte", ">=", 0.7), ("staged_over_sync_save", "<=", 0.10), ("staged_over_memcpy", "<=", 1.5),
]


def met(value, op, bound):
    return value >= bound if op == ">=" else value > bound if op == ">" else value <= bound


def table(results):
    lines = ["| workload | files | raw write / read warm / read cold (s) | DCP save / load warm / load cold (s) "
             "| ActorCkpt save / load warm / load cold / resharded (s) | staged (MiB) / time / memcpy (s) | save peak growth (MiB) |",
             "|---|---|---|---|---|---|---|"]
    for m in results:
        r, d, a = m["raw"], m["dcp"], m["actorckpt"]
        lines.append(f"| {m['workload']} | {m['files']} | {r['write_s']} / {r['read_warm_s']} / {r['read_cold_s']} "
                     f"| {d['save_s']} / {d['load_warm_s']} / {d['load_cold_s']} "
                     f"| {a['save_s']} / {a['load_s']} / {a['load_cold_s']} / {a['load_reshard_s']} "
                     f"| {a['staged_bytes'] / (1 << 20):.0f} / {a['staged_s']} / {a['memcpy_s']} "
                     f"| {a['save_peak_growth_bytes'] / (1 << 20):.1f} |")
    lines += ["", "| workload | " + " | ".join(f"{k} ({op} {b})" for k, op, b in TARGETS) + " |",
              "|---|" + "---|" * len(TARGETS)]
    for m in results:
        cells = [f"{m['ratios'][k]}{'' if met(m['ratios'][k], op, b) else ' (miss)'}" for k, op, b in TARGETS]
        lines.append(f"| {m['workload']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--actorckpt", required=True, help="the actorckpt executable")
    p.add_argument("--dir", default="/tmp/actorckpt-compare", help="scratch directory (on the disk to measure)")
    p.add_argument("--sizes-mb", default="256,1024")
    p.add_argument("--ranks", default="2,4")
    p.add_argument("--layouts", default="sharded,replicated")
    p.add_argument("--tensors", type=int, default=64)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--json-out", help="also write the JSON here")
    args = p.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    workloads = [{"size_mb": int(s), "ranks": int(r), "layout": l, "tensors": args.tensors,
                  "name": f"{s} MiB, {r} ranks, {l}"}
                 for s in args.sizes_mb.split(",") for r in args.ranks.split(",") for l in args.layouts.split(",")]
    started = time.time()
    results = [measure(args, w) for w in workloads]
    report = {"machine": {"cpus": os.cpu_count(), "kernel": os.uname().release},
              "seconds": round(time.time() - started), "results": results}
    print(table(results))
    print(json.dumps(report))
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(report, f, indent=1)
    shutil.rmtree(args.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
