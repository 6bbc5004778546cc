#!/usr/bin/python3
"""The peer in bench/compare.sh: PyTorch's torch.distributed checkpoint (DCP) on the workload
`actorckpt bench` uses.

The workload is the same as ActorCkpt's SyntheticModel: --tensors float32 tensors of
[rows, 256] elements, --size-mb MiB in all, either row-sharded over the ranks (ShardedTensor,
rows split as evenly as possible) or replicated on every rank (DCP 1.13 then writes each
tensor from rank 0 alone). Each rank is a process; the ranks meet over gloo on 127.0.0.1.

Each rank saves twice, the first save unmeasured and the second measured (as `actorckpt bench`
reports its steady-state save), with one file per rank and fsync. It then loads the second
save into tensors allocated and zeroed before the clock starts, first with the files in the
page cache and then after dropping them from it (posix_fadvise DONTNEED, which needs no
privilege). Times run from a barrier to a barrier, so they are those of the slowest rank.

Prints one JSON object on stdout. --dir must not exist yet (a new directory each run: on a disk,
writing into blocks a delete has just freed is several times faster than into new ones, see
docs/benchmarks.md); with --keep its files stay, for the caller to delete at the end.
"""
import argparse
import json
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch113_on_py311  # noqa: F401,E402  must precede torch
import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
import torch.multiprocessing as mp  # noqa: E402

COLUMNS = 256


def rows_of(args):
    return max(1, args.size_mb * (1 << 20) // args.tensors // 4 // COLUMNS)


def even_split(size, rank, world):
    q, r = divmod(size, world)
    return rank * q + min(rank, r), q + (1 if rank < r else 0)


def values(i, rows):
    g = torch.Generator().manual_seed(1000 + i)
    return torch.rand(rows, COLUMNS, generator=g)


def state_dict(rank, world, args, fill):
    """The rank's state: real values when fill, zeros (a load's destination) otherwise."""
    from torch.distributed._shard import sharded_tensor
    from torch.distributed._shard.sharding_spec import ChunkShardingSpec

    rows = rows_of(args)
    sd = {}
    for i in range(args.tensors):
        key = f"model.layers.{i}.weight"
        if args.layout == "replicated":
            sd[key] = values(i, rows) if fill else torch.zeros(rows, COLUMNS)
            continue
        spec = ChunkShardingSpec(dim=0, placements=[f"rank:{r}/cpu" for r in range(world)])
        t = sharded_tensor.zeros(spec, rows, COLUMNS)
        if fill:
            local = t.local_shards()[0]
            start = local.metadata.shard_offsets[0]
            length = local.metadata.shard_sizes[0]
            local.tensor.copy_(values(i, rows).narrow(0, start, length))
        sd[key] = t
    return sd


def local_tensor(v):
    return v.local_shards()[0].tensor if hasattr(v, "local_shards") else v


def drop_from_page_cache(directory):
    for name in os.listdir(directory):
        fd = os.open(os.path.join(directory, name), os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def timed(action):
    dist.barrier()
    start = time.perf_counter()
    action()
    dist.barrier()
    return time.perf_counter() - start


def rank_main(rank, world, args, results):
    import torch.distributed._shard.checkpoint as dcp

    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(args.port)
    # The ranks share the machine's cores, as ActorCkpt's ranks do in one process.
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    sd = state_dict(rank, world, args, fill=True)
    first, measured = os.path.join(args.dir, "first"), os.path.join(args.dir, "measured")

    def save(directory):
        return lambda: dcp.save_state_dict(sd, dcp.FileSystemWriter(directory, single_file_per_rank=True, sync_files=True))

    timed(save(first))
    save_s = timed(save(measured))
    target = state_dict(rank, world, args, fill=False)
    load_warm_s = timed(lambda: dcp.load_state_dict(target, dcp.FileSystemReader(measured)))
    exact = all(torch.equal(local_tensor(sd[k]), local_tensor(target[k])) for k in sd)
    for v in target.values():
        local_tensor(v).zero_()
    if rank == 0:
        drop_from_page_cache(measured)
    load_cold_s = timed(lambda: dcp.load_state_dict(target, dcp.FileSystemReader(measured)))
    exact = exact and all(torch.equal(local_tensor(sd[k]), local_tensor(target[k])) for k in sd)
    results.put((rank, save_s, load_warm_s, load_cold_s, exact))
    dist.destroy_process_group()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dir", required=True, help="scratch directory (must not exist: created)")
    p.add_argument("--keep", action="store_true", help="leave the saved files (the caller deletes them at the end)")
    p.add_argument("--size-mb", type=int, default=256)
    p.add_argument("--tensors", type=int, default=64)
    p.add_argument("--ranks", type=int, default=2)
    p.add_argument("--layout", choices=["sharded", "replicated"], default="sharded")
    p.add_argument("--port", type=int, default=29531)
    args = p.parse_args()
    if os.path.exists(args.dir):
        sys.exit(f"--dir {args.dir} exists: give a new directory")
    os.makedirs(args.dir)
    context = mp.get_context("spawn")
    results = context.Queue()
    ranks = [context.Process(target=rank_main, args=(r, args.ranks, args, results)) for r in range(args.ranks)]
    for r in ranks:
        r.start()
    per_rank = [results.get(timeout=1800) for _ in ranks]
    for r in ranks:
        r.join()
    if any(r.exitcode != 0 for r in ranks):
        sys.exit("a DCP rank failed")
    measured = os.path.join(args.dir, "measured")
    files = [f for f in os.listdir(measured) if f.endswith(".distcp")]
    print(json.dumps({
        "peer": "pytorch-dcp-" + torch.__version__,
        "layout": args.layout,
        "ranks": args.ranks,
        "tensors": args.tensors,
        "bytes": rows_of(args) * COLUMNS * 4 * args.tensors,
        "files": len(files),
        "save_s": round(max(r[1] for r in per_rank), 4),
        "load_warm_s": round(max(r[2] for r in per_rank), 4),
        "load_cold_s": round(max(r[3] for r in per_rank), 4),
        "bit_exact": all(r[4] for r in per_rank),
    }))
    if not args.keep:
        shutil.rmtree(args.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
