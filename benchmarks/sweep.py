"""Sweep benchmark: many 10^4-consumer x 180-day jobs through ``experiments.run -m``, end to end.

    .venv/bin/python -m benchmarks.sweep                                # 1,000 jobs
    .venv/bin/python -m benchmarks.sweep --jobs 200 --against ../old    # side by side with another checkout

Runs the real command (``python -m experiments.run -m diffusion.weak_tie=<10 values>
'seed=range(N/10)' progress=false``: the default market, no campaign, so no baseline)
in a fresh sweep folder and measures, from the command and from its ``runs.parquet``:

* ``end_to_end_s``: from starting the command to its exit (composing every job, the
  jobs on the worker processes, collecting ``runs.parquet`` and ``daily.parquet``);
* ``resume_s``: the same command again on the finished sweep (every job found finished);
* ``sim_ms`` (``wall_seconds``: simulating), ``job_ms`` (``job_seconds``: the whole job
  in its worker, simulating and writing) per job, and ``overhead_s``: end to end minus
  the jobs' time divided by the workers.

``--against DIR`` runs the same sweep from another checkout of the project with the
same interpreter (its packages are imported from ``DIR``, the working folder), right
after this one's, so the ratio is measured side by side. One JSON line per sweep on
stdout; ``docs/performance.md`` quotes them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def sweep_args(n_jobs: int, out: Path) -> list[str]:
    """n_jobs = 10 weak-tie values x n_jobs/10 seeds (1 value when n_jobs < 10)."""
    values = 10 if n_jobs % 10 == 0 and n_jobs >= 10 else 1
    weak_tie = ",".join(f"{0.005 * (i + 1):.3f}" for i in range(values))
    return ["-m", f"diffusion.weak_tie={weak_tie}", f"seed=range({n_jobs // values})", "progress=false",
            f"hydra.sweep.dir={out}"]


def timed(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(cwd)})
    if proc.returncode != 0:
        sys.exit(f"benchmark command failed in {cwd}:\n{proc.stderr[-2000:]}")
    return time.perf_counter() - start


def measure(repo: Path, n_jobs: int, workdir: Path, label: str) -> dict:
    import pandas as pd

    out = workdir / f"{label}-{n_jobs}"
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "experiments.run", *sweep_args(n_jobs, out)]
    end_to_end = timed(cmd, repo)
    resume = timed(cmd, repo)
    runs = pd.read_parquet(out / "runs.parquet")
    ok = runs[runs["status"] == "ok"]
    workers = os.cpu_count() or 1
    job_s = ok["job_seconds"].sum()
    return {"label": label, "repo": str(repo), "jobs": n_jobs, "ok": len(ok), "end_to_end_s": round(end_to_end, 1),
            "resume_s": round(resume, 1), "sim_ms": round(1000 * ok["wall_seconds"].mean(), 1),
            "job_ms": round(1000 * ok["job_seconds"].mean(), 1),
            "overhead_s": round(end_to_end - job_s / workers, 1), "workers": workers}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000, help="jobs in the sweep (default 1,000)")
    parser.add_argument("--against", type=Path, help="another checkout, measured right after this one")
    parser.add_argument("--out", type=Path, help="work folder (default: a temporary one, removed)")
    args = parser.parse_args()
    workdir = args.out or Path(tempfile.mkdtemp(prefix="sweep-bench-"))
    print(json.dumps({"machine": platform.machine(), "cpus": os.cpu_count(), "python": platform.python_version(),
                      "load_before": os.getloadavg()[0]}), flush=True)
    try:
        print(json.dumps(measure(REPO, args.jobs, workdir, "this")), flush=True)
        if args.against:
            print(json.dumps(measure(args.against.resolve(), args.jobs, workdir, "against")), flush=True)
    finally:
        if args.out is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
