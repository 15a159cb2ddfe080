"""Calibration benchmark: a log of about 10^4 customers over a year, calibrated from scratch.

    .venv/bin/python -m benchmarks.calibration                            # acquisition=model
    .venv/bin/python -m benchmarks.calibration --acquisition observed
    .venv/bin/python -m benchmarks.calibration --against ../old           # side by side with another checkout

The log is the model's own (``experiments.run population.size=<size> days=365
orders=true``, the default market, seed 7: about 10^4 customers buy in 2025), written
once by this checkout. It is calibrated by the real command with its defaults
(``python -m experiments.calibrate data=... holdout_from=2025-10-01 jobs=<cores>
progress=false``: 40 candidates x 3 seeds, 5,000 simulated consumers, intervals,
20 forecast draws and, where pymc-marketing is installed, BG/NBD) in a fresh folder, and
measures:

* ``end_to_end_s``: from starting the command to its exit;
* ``runs``: the simulations it ran (``out/runs/``), and ``sim_s``, their mean time;
* ``resume_s``: the same command on the finished calibration with its report removed
  (every simulation found finished).

``--against DIR`` calibrates the same log from another checkout with the same interpreter,
right after this one, so the two are measured side by side. One JSON line each on stdout;
``docs/performance.md`` quotes them.
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


def make_log(folder: Path, size: int) -> Path:
    """The year's order log of a simulated market of ``size`` consumers."""
    out = folder / f"log-{size}"
    if not (out / "orders.parquet").exists():
        subprocess.run([sys.executable, "-m", "experiments.run", f"population.size={size}", "days=365", "seed=7",
                        "start_date=2025-01-01", "orders=true", "report=false", "progress=false", f"out={out}"],
                       cwd=REPO, check=True, capture_output=True)
    return out / "orders.parquet"


def timed(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(cwd)})
    if proc.returncode != 0:
        sys.exit(f"benchmark command failed in {cwd}:\n{proc.stderr[-2000:]}")
    return time.perf_counter() - start


def measure(repo: Path, log: Path, acquisition: str, workdir: Path, label: str) -> dict:
    out = workdir / f"{label}-{acquisition}"
    shutil.rmtree(out, ignore_errors=True)
    workers = os.cpu_count() or 1
    cmd = [sys.executable, "-m", "experiments.calibrate", f"data={log}", "holdout_from=2025-10-01",
           f"acquisition={acquisition}", f"jobs={workers}", "progress=false", f"out={out}"]
    end_to_end = timed(cmd, repo)
    sims = [json.loads(p.read_text())["wall_seconds"] for p in (out / "runs").glob("*/summary.json")]
    (out / "report.html").unlink()
    resume = timed(cmd, repo)
    return {"label": label, "repo": str(repo), "acquisition": acquisition, "end_to_end_s": round(end_to_end, 1),
            "runs": len(sims), "sim_s": round(sum(sims) / max(len(sims), 1), 2), "resume_s": round(resume, 1),
            "workers": workers}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_500, help="consumers of the simulated shop (default 10,500)")
    parser.add_argument("--acquisition", choices=("model", "observed"), default="model")
    parser.add_argument("--against", type=Path, help="another checkout, measured right after this one")
    parser.add_argument("--out", type=Path, help="work folder (default: a temporary one, removed)")
    args = parser.parse_args()
    workdir = args.out or Path(tempfile.mkdtemp(prefix="calibration-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        import pandas as pd

        log = make_log(workdir, args.size)
        orders = pd.read_parquet(log, columns=["customer_id", "date"])
        print(json.dumps({"machine": platform.machine(), "cpus": os.cpu_count(), "python": platform.python_version(),
                          "load_before": os.getloadavg()[0], "customers": int(orders["customer_id"].nunique()),
                          "orders": len(orders), "first": str(orders["date"].min().date()),
                          "last": str(orders["date"].max().date())}), flush=True)
        print(json.dumps(measure(REPO, log, args.acquisition, workdir, "this")), flush=True)
        if args.against:
            print(json.dumps(measure(args.against.resolve(), log, args.acquisition, workdir, "against")), flush=True)
    finally:
        if args.out is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
