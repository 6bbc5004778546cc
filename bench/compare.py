#!/usr/bin/python3
"""Runs `actorckpt bench` (ours, with its raw baseline in the same process), PyTorch DCP
(bench/dcp_peer.py) and fio (an independent raw limit) on the same workloads, alternating them
--runs times (the order rotates from round to round), and prints every round, the medians and the
ratios as a table and as one JSON object (also written to --json-out when given). Started by
bench/compare.sh.

Protocol (issue 21): every round writes into new directories and nothing is deleted until the
end, as a training job with retention keeps writing new checkpoints. On these machines' disk,
writing into blocks a delete has just freed is several times faster than into new ones
(docs/benchmarks.md), so a tool run right after another's files were deleted would win by that
alone. --tmpfs runs the whole comparison under /dev/shm, which measures the software path
without the disk. There each tool's files are deleted as soon as it has run: keeping every round
would hold several times the workload in RAM, and tmpfs has no block allocator that favours freed
space (measured: no difference beyond noise, docs/benchmarks.md).

Ratios are computed per round (figures of the same round) and reported with their median:
  save_vs_dcp        DCP save / our save in place (issue 21: >= 1.5)
  load_warm_vs_dcp   DCP warm load / our warm load (issue 21: >= 1.5)
  load_cold_vs_dcp   DCP cold load / our cold load
  fio_write_over_raw fio's write / our bench's raw write (a check of the raw baseline: near 1 or above)
and our bench's own ratios and targets (save_over_raw, load_over_raw, async_over_sync,
raw_write_over_memcpy), as medians of its per-round ratios. Save is ActorCkpt's synchronous
save in place (committed, fsynced) against DCP's save (fsynced, one file per rank); both are a
second save in a process that saved once. Loads go into tensors allocated before the clock starts.
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


def raw(directory, files, total_bytes):
    os.makedirs(directory)
    write = fio(directory, "write", files, total_bytes, invalidate=1)
    warm = fio(directory, "read", files, total_bytes, invalidate=0)
    return {"write_s": write, "read_warm_s": warm}


def peer(directory, w):
    result = run_json(["/usr/bin/python3", os.path.join(HERE, "dcp_peer.py"), "--dir", directory, "--keep",
                       "--size-mb", str(w["size_mb"]), "--ranks", str(w["ranks"]), "--layout", w["layout"],
                       "--tensors", str(w["tensors"]), "--port", str(random.randint(29500, 29999))])
    if not result["bit_exact"]:
        sys.exit(f"DCP was not bit-exact on {w}")
    return result


def actorckpt(binary, directory, w):
    result = run_json(ACTORCKPT_ENV + [binary, "bench", "--dir", directory, "--size-mb", str(w["size_mb"]),
                       "--ranks", str(w["ranks"]), "--layout", w["layout"], "--tensors", str(w["tensors"]), "--json"])
    if not result["bit_exact"]:
        sys.exit(f"actorckpt bench was not bit-exact on {w}")
    return result


def median(values):
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 4) if values else None


OURS = ("save_s", "staged_s", "async_save_s", "memcpy_s", "load_s", "load_cold_s", "load_reshard_s", "raw_write_s",
        "raw_read_s", "raw_write_over_memcpy", "save_over_raw", "async_over_sync", "load_over_raw")
RATIOS = ("save_vs_dcp", "load_warm_vs_dcp", "load_cold_vs_dcp", "fio_write_over_raw")
# Issue 21's targets on the comparison (ours against DCP, in the same round); our bench states its own.
TARGETS = [("save_vs_dcp", ">=", 1.5), ("load_warm_vs_dcp", ">=", 1.5)]


def ratios(ours, dcp, fio_run):
    return {
        "save_vs_dcp": round(dcp["save_s"] / ours["save_s"], 3),
        "load_warm_vs_dcp": round(dcp["load_warm_s"] / ours["load_s"], 3),
        "load_cold_vs_dcp": round(dcp["load_cold_s"] / ours["load_cold_s"], 3),
        "fio_write_over_raw": round(fio_run["write_s"] / ours["raw_write_s"], 3),
    }


def measure(args, w, scratch):
    rounds = []
    for i in range(args.runs):
        print(f"  {w['name']}: round {i + 1} of {args.runs}", file=sys.stderr, flush=True)
        base = os.path.join(scratch, f"{w['key']}-round-{i + 1}")
        # fio writes as many files as our save, learned from our run, so it follows ours; which of
        # ours and DCP goes first alternates from round to round.
        order = ["actorckpt", "fio", "dcp"] if i % 2 == 0 else ["dcp", "actorckpt", "fio"]
        results = {}
        for tool in order:
            if tool == "actorckpt":
                results[tool] = actorckpt(args.actorckpt, os.path.join(base, "actorckpt"), w)
            elif tool == "dcp":
                results[tool] = peer(os.path.join(base, "dcp"), w)
            else:
                results[tool] = raw(os.path.join(base, "fio"), results["actorckpt"]["raw_files"], w["size_mb"] << 20)
            if args.tmpfs:
                shutil.rmtree(os.path.join(base, "fio" if tool == "fio" else tool), ignore_errors=True)
        rounds.append({"round": i + 1, "order": order, **results,
                       "ratios": ratios(results["actorckpt"], results["dcp"], results["fio"])})
    ours = [r["actorckpt"] for r in rounds]
    m = {
        "workload": w["name"], "bytes": w["size_mb"] << 20, "ranks": w["ranks"], "layout": w["layout"],
        "files": ours[0]["files"], "filesystem": ours[0]["filesystem"], "runs": args.runs,
        "fio": {k: median(r["fio"][k] for r in rounds) for k in ("write_s", "read_warm_s")},
        "dcp": {k: median(r["dcp"][k] for r in rounds) for k in ("save_s", "load_warm_s", "load_cold_s")},
        "actorckpt": {k: median(o[k] for o in ours) for k in OURS},
        "ratios": {k: median(r["ratios"][k] for r in rounds) for k in RATIOS},
        "actorckpt_targets": ours[0]["targets"],
        "rounds": rounds,
    }
    m["actorckpt_targets_met"] = {k: (None if t is None or m["actorckpt"][k] is None else m["actorckpt"][k] <= t)
                                  for k, t in m["actorckpt_targets"].items()}
    m["targets_met"] = {k: met(m["ratios"][k], op, b) for k, op, b in TARGETS}
    return m


def met(value, op, bound):
    return value >= bound if op == ">=" else value > bound if op == ">" else value <= bound


def table(results):
    lines = ["| workload | fs | round | order | fio write / read (s) | DCP save / load warm / load cold (s) "
             "| ours save / async / load warm / load cold (s) | ours raw write / read / memcpy (s) "
             "| save vs DCP | load vs DCP | save / raw | load / raw | fio / raw write |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for m in results:
        for r in m["rounds"] + [dict(round="median", order=[], fio=m["fio"], dcp=m["dcp"], actorckpt=m["actorckpt"], ratios=m["ratios"])]:
            f, d, a, q = r["fio"], r["dcp"], r["actorckpt"], r["ratios"]
            lines.append(f"| {m['workload']} | {m['filesystem']} | {r['round']} | {','.join(r['order'])} "
                         f"| {f['write_s']} / {f['read_warm_s']} | {d['save_s']} / {d['load_warm_s']} / {d['load_cold_s']} "
                         f"| {a['save_s']} / {a['async_save_s']} / {a['load_s']} / {a['load_cold_s']} "
                         f"| {a['raw_write_s']} / {a['raw_read_s']} / {a['memcpy_s']} "
                         f"| {q['save_vs_dcp']} | {q['load_warm_vs_dcp']} | {a['save_over_raw']} | {a['load_over_raw']} | {q['fio_write_over_raw']} |")
    lines += ["", "targets (medians of per-round ratios):"]
    for m in results:
        ours = ", ".join(f"{k} {m['actorckpt'][k]} <= {t} {'met' if ok else 'MISSED'}"
                         for k, t in m["actorckpt_targets"].items() if t is not None for ok in [m["actorckpt_targets_met"][k]])
        dcp = ", ".join(f"{k} {m['ratios'][k]} {op} {b} {'met' if m['targets_met'][k] else 'MISSED'}" for k, op, b in TARGETS)
        lines.append(f"  {m['workload']} on {m['filesystem']}: {dcp}; {ours}")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--actorckpt", required=True, help="the actorckpt executable")
    p.add_argument("--dir", default="/tmp/actorckpt-compare", help="scratch directory, on the disk to measure (must not exist)")
    p.add_argument("--tmpfs", action="store_true", help="run under /dev/shm (the software path without the disk)")
    p.add_argument("--sizes-mb", default="256,1024")
    p.add_argument("--ranks", default="2,4")
    p.add_argument("--layouts", default="sharded,replicated")
    p.add_argument("--tensors", type=int, default=64)
    p.add_argument("--runs", type=int, default=5, help="rounds per workload (each runs ours, DCP and fio once)")
    p.add_argument("--json-out", help="also write the JSON here")
    args = p.parse_args()
    scratch = os.path.join("/dev/shm", f"actorckpt-compare-{os.getpid()}") if args.tmpfs else args.dir
    if os.path.exists(scratch):
        sys.exit(f"{scratch} exists: give a new --dir (the protocol writes only new files; delete it yourself)")
    os.makedirs(scratch)
    workloads = [{"size_mb": int(s), "ranks": int(r), "layout": l, "tensors": args.tensors,
                  "name": f"{s} MiB, {r} ranks, {l}", "key": f"{s}mb-{r}r-{l}"}
                 for s in args.sizes_mb.split(",") for r in args.ranks.split(",") for l in args.layouts.split(",")]
    started = time.time()
    try:
        results = [measure(args, w, scratch) for w in workloads]
    finally:
        # The only deletion of the protocol on a disk: at the end, after every round.
        shutil.rmtree(scratch, ignore_errors=True)
    report = {"machine": {"cpus": os.cpu_count(), "kernel": os.uname().release}, "scratch": scratch,
              "tmpfs": args.tmpfs, "deleted_between_rounds": args.tmpfs,
              "seconds": round(time.time() - started), "results": results}
    print(table(results))
    print(json.dumps(report))
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
