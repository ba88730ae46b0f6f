"""The SPIN swarm options of `entersys explore --engine spin` (entersys.oracle.spin_swarm):
`--swarm N` runs N diversified bitstate jobs here, `--cores` at a time, each for at most
`--swarm-seconds`; with `--swarm-dir DIR` it writes them to DIR (swarm.sh, jobs.json,
model.pml) to be run on other machines; `--swarm-merge DIR` merges their outputs."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_options(e: argparse.ArgumentParser) -> None:
    e.add_argument("--spin-compression", choices=("collapse", "hc4", "ma"), default=None,
                   help="how SPIN stores states (--engine spin only): collapse (default, "
                   "-DCOLLAPSE), hc4 (-DHC4 hash compaction) or ma (-DMA minimized automaton)")
    e.add_argument("--swarm", type=int, default=0, metavar="N",
                   help="SPIN swarm: N diversified bitstate runs (--engine spin only)")
    e.add_argument("--swarm-seconds", type=float, default=60.0, metavar="S",
                   help="time budget of one swarm job run here (default 60)")
    e.add_argument("--swarm-dir", metavar="DIR",
                   help="write the swarm to DIR (swarm.sh, jobs.json) instead of running it")
    e.add_argument("--swarm-merge", metavar="DIR",
                   help="merge the outputs of a swarm written with --swarm-dir and run")


def spin_options(opts: argparse.Namespace, usage: type[Exception]) -> dict[str, Any]:
    """The swarm and compression options as explore_spin keywords; raises `usage` for a
    bad combination."""
    n, d, m = opts.swarm, opts.swarm_dir, opts.swarm_merge
    comp = getattr(opts, "spin_compression", None)
    if comp is not None and opts.engine != "spin":
        raise usage("--spin-compression needs --engine spin")
    if comp is not None and (n or d or m or opts.bitstate):
        raise usage("--spin-compression is for exhaustive runs: not with --swarm or --bitstate")
    if not (n or d or m):
        return {"compression": comp} if comp else {}
    if opts.engine != "spin":
        raise usage("--swarm, --swarm-dir and --swarm-merge need --engine spin")
    if n < 1 or n > 1000:
        raise usage("--swarm must be between 1 and 1000")
    if not 0 < opts.swarm_seconds <= 86400:
        raise usage("--swarm-seconds must be between 0 and 86400")
    if d and m:
        raise usage("--swarm-dir writes a swarm, --swarm-merge reads one: give one of them")
    if d and Path(d).exists() and (not Path(d).is_dir() or any(Path(d).iterdir())):
        raise usage(f"--swarm-dir {d}: not a new or empty directory")
    if m and not (Path(m) / "jobs.json").is_file():
        raise usage(f"--swarm-merge {m}: no jobs.json there (write one with --swarm-dir)")
    if opts.bitstate:
        raise usage("--swarm runs bitstate jobs already: drop --bitstate")
    return {"swarm": n, "swarm_dir": d, "swarm_merge": m, "swarm_seconds": opts.swarm_seconds}
