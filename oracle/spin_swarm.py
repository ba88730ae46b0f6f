"""Swarm verification with SPIN (Holzmann, Joshi, Groce: "Swarm verification techniques",
2011): many small, independent, diversified bitstate runs instead of one big one. Each
job differs in its hash seed and polynomial (-RS, -h), bits per state (-k), hash array
size (-w), depth limit (-m) and search order (-DT_RAND transition order, -t_reverse).

Two ways to run a swarm:
  - locally: run_swarm() runs the N jobs `cores` at a time, each with a time budget;
  - spread over machines: emit() writes a directory (model.pml, swarm.sh, jobs.json);
    `sh swarm.sh K` on any machine with spin and gcc runs job K (or all with no argument)
    into out/; copy out/ back and merge() reads it.
Merging: any counterexample wins (the first job, by number, that found one; its trail is
replayed through our steps by the caller); otherwise the union of the coverage estimates
(states stored per job, their sum as an upper bound and their maximum as a lower bound on
the distinct states seen, and the smallest hash factor)."""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from entersys.model.invariants import Invariant
from entersys.model.program import Program
from entersys.oracle.spin import SpinError, SpinRun, _parse, check_tools, generate, run_spin

SWARM_SECONDS = 60.0   # default time budget of one local job


@dataclass(frozen=True)
class Job:
    """One diversified bitstate run: `flags` for gcc, `args` for pan."""

    number: int
    flags: tuple[str, ...]
    args: tuple[str, ...]


def plan(n: int, seed: int = 1, max_depth: int = 1_000_000) -> list[Job]:
    """N diversified jobs, deterministic for a given `seed`: job 0 is the plain search
    order; the others alternate random transition order (-DT_RAND with its own -RS) and
    reversed order, with different hash seeds (-h), bits per state (-k 1-3), hash arrays
    (-w 26-30) and depth limits (the full depth, or a half or a tenth of it)."""
    if n < 1:
        raise ValueError("a swarm needs at least one job")
    rnd = random.Random(seed)
    jobs = []
    for k in range(n):
        order = ("plain", "rand", "reverse")[k % 3] if k else "plain"
        flags = ("-DT_RAND",) if order == "rand" else ()
        depth = max_depth if k % 2 == 0 else max(1000, max_depth // rnd.choice((2, 10)))
        args = [f"-RS{rnd.randrange(1, 1 << 30)}", f"-h{rnd.randrange(0, 500)}",
                f"-k{rnd.choice((1, 2, 3))}", f"-w{rnd.randrange(26, 31)}", f"-m{depth}"]
        if order == "reverse":
            args.append("-t_reverse")
        jobs.append(Job(k, flags, tuple(args)))
    return jobs


@dataclass
class SwarmResult:
    runs: list[SpinRun] = field(default_factory=list)
    winner: int | None = None       # the job whose counterexample is reported

    def merged(self) -> SpinRun:
        """One SpinRun for the record: the winner's run, or the union of coverage."""
        if self.winner is not None:
            return self.runs[self.winner]
        out = SpinRun(flags=["swarm"])
        out.states = max((r.states for r in self.runs), default=0)
        out.transitions = sum(r.transitions for r in self.runs)
        out.depth = max((r.depth for r in self.runs), default=0)
        out.seconds = max((r.seconds for r in self.runs), default=0.0)
        out.memory_mb = sum(r.memory_mb for r in self.runs)
        out.state_vector = max((r.state_vector for r in self.runs), default=0)
        hf = [r.hash_factor for r in self.runs if r.hash_factor is not None]
        out.hash_factor = min(hf) if hf else None
        out.complete = all(r.complete for r in self.runs)
        out.interrupted = any(r.interrupted for r in self.runs)
        return out

    def details(self, jobs: list[Job]) -> dict[str, Any]:
        return {"jobs": len(self.runs),
                "winner": self.winner,
                "states_per_job": [r.states for r in self.runs],
                "states_sum": sum(r.states for r in self.runs),
                "states_max": max((r.states for r in self.runs), default=0),
                "complete_jobs": sum(r.complete for r in self.runs),
                "hash_factors": [r.hash_factor for r in self.runs],
                "job_options": [" ".join((*j.flags, *j.args)) for j in jobs]}


def _pick(res: SwarmResult) -> SwarmResult:
    for k, r in enumerate(res.runs):
        if r.errors and r.trail is not None:
            res.winner = k
            break
    return res


def run_swarm(prog: Program, n: int, cores: int = 1, seconds: float = SWARM_SECONDS,
              invariants: list[Invariant] | None = None, seed: int = 1,
              memory_mb: int = 512) -> tuple[list[Job], SwarmResult]:
    """Run the swarm locally, `cores` jobs at a time, each stopped after `seconds`
    (bitstate: each job's memory is its hash array plus `memory_mb` of stack)."""
    check_tools()
    jobs = plan(n, seed)

    def one(job: Job) -> SpinRun:
        return run_spin(prog, bitstate=True, invariants=invariants, memory_mb=memory_mb,
                        time_limit=seconds, extra_flags=list(job.flags),
                        run_args=[a for a in job.args if not a.startswith("-w")],
                        bitstate_bits=int(next(a for a in job.args if a.startswith("-w"))[2:]))

    with ThreadPoolExecutor(max_workers=max(1, cores)) as pool:
        runs = list(pool.map(one, jobs))
    return jobs, _pick(SwarmResult(runs))


SCRIPT = """#!/bin/sh
# generated by entersys (oracle/spin_swarm.py): SPIN swarm for {what}
# usage: sh swarm.sh [K ...]   run jobs K (default: all) into out/; needs spin and gcc.
# Copy out/ back next to jobs.json and merge with:
#   {merge}
set -e
cd "$(dirname "$0")"
mkdir -p out
build() {{
  [ -x "pan$1" ] || (mkdir -p "b$1" && cd "b$1" && spin -a ../model.pml &&
                     gcc {flags} $2 -o "../pan$1" pan.c)
}}
job() {{
  case "$1" in
{cases}
  esac
}}
if [ $# -eq 0 ]; then set -- {all}; fi
for k in "$@"; do job "$k"; done
"""


def emit(prog: Program, n: int, out_dir: Path, replay: str, seed: int = 1,
         invariants: list[Invariant] | None = None, memory_mb: int = 512) -> list[Job]:
    """Write the swarm directory (see the module docstring). Raises OSError."""
    jobs = plan(n, seed)
    pml = generate(prog, invariants=invariants)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "model.pml").write_text(pml.source)
    variants = sorted({j.flags for j in jobs})
    base = f"-O2 -DSAFETY -DBITSTATE -DMEMLIM={memory_mb} -DVECTORSZ=4096"
    cases = []
    for j in jobs:
        v = variants.index(j.flags)
        cases.append(f"  {j.number}) build {v} \"{' '.join(j.flags)}\"; "
                     f"./pan{v} -E {' '.join(j.args)} -tjob{j.number} "
                     f"> out/job{j.number}.txt 2>&1 || true; "
                     f"[ -f model.pml.job{j.number} ] && mv model.pml.job{j.number} out/ "
                     "|| true ;;")
    merge = replay + f" --swarm {n} --swarm-merge {out_dir}"
    (out_dir / "swarm.sh").write_text(SCRIPT.format(
        what=replay, merge=merge, flags=base, cases="\n".join(cases),
        all=" ".join(str(j.number) for j in jobs)))
    (out_dir / "jobs.json").write_text(json.dumps(
        {"replay": replay, "seed": seed, "instances": [i.label for i in pml.instances],
         "fields": list(prog.layout.names), "jobs": [
            {"number": j.number, "flags": list(j.flags), "args": list(j.args)} for j in jobs]},
        indent=1) + "\n")
    return jobs


def merge(prog: Program, out_dir: Path, invariants: list[Invariant] | None = None
          ) -> tuple[list[Job], SwarmResult]:
    """Read a swarm directory whose jobs ran (out/jobK.txt, out/model.pml.jobK for a
    trail); a missing output is a job that did not run (incomplete). `invariants` is
    unused (the emitted model.pml holds them). Raises SpinError."""
    try:
        meta = json.loads((out_dir / "jobs.json").read_text())
    except (OSError, ValueError) as e:
        raise SpinError(f"{out_dir}: no readable jobs.json ({e})") from None
    jobs = [Job(int(j["number"]), tuple(j["flags"]), tuple(j["args"])) for j in meta["jobs"]]
    # a trail names instances by number: the swarm must number them as this program does
    # (the Promela text itself may differ in the order of commutative terms)
    if (meta.get("instances") != [i.label for i in prog.instances()]
            or meta.get("fields") != list(prog.layout.names)):
        raise SpinError(f"{out_dir} holds another program's swarm "
                        "(another configuration, mutant or entersys version)")
    res = SwarmResult()
    for j in jobs:
        run = SpinRun(flags=list(j.flags))
        path = out_dir / "out" / f"job{j.number}.txt"
        if not path.exists():
            run.complete = False
            res.runs.append(run)
            continue
        run.output = path.read_text()
        _parse(run)
        trail = out_dir / "out" / f"model.pml.job{j.number}"
        if run.errors and trail.exists():
            shutil.copy(trail, out_dir / f"model.pml.job{j.number}")
            t = subprocess.run(["spin", "-t", "-k", f"model.pml.job{j.number}", "model.pml"],
                               cwd=out_dir, capture_output=True, text=True, timeout=600)
            (out_dir / f"model.pml.job{j.number}").unlink()
            run.trail = [int(x) for x in re.findall(r"^\s*STEP (\d+)$", t.stdout, re.M)]
            run.deadlock = "NOSTEP" in t.stdout
            rng = re.search(r"^\s*RANGE (-?\d+)$", t.stdout, re.M)
            run.range_fault = prog.layout.names[int(rng.group(1))] if rng else None
        res.runs.append(run)
    return jobs, _pick(res)
