"""Heavy checks for ``make test-slow``: the memory estimate at scale, and a sweep that
survives being killed again and again."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time

import pandas as pd
import pytest

from conftest import PYTHON, REPO
from test_pipeline import session_processes

pytestmark = pytest.mark.slow


def test_the_memory_estimate_bounds_the_measured_peak_at_a_million_consumers(tmp_path):
    """The refusal of populations too large for the machine rests on this estimate: it must
    not be below the real peak (or a run could be let through to die of MemoryError),
    nor far above it (or runs that fit would be refused)."""
    code = ("import resource; from sim.build import build_config; from sim.model import MarketModel, "
            "estimated_peak_bytes; c = build_config(days=60, population={'size': 1_000_000}); "
            "MarketModel(c).run(); print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, "
            "estimated_peak_bytes(c))")
    proc = subprocess.run([PYTHON, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    peak, estimate = map(int, proc.stdout.split())
    assert peak <= estimate <= 2 * peak, (peak, estimate)


def test_a_sweep_killed_again_and_again_finishes_with_every_job_once(tmp_path):
    out = tmp_path / "sweep"
    args = [PYTHON, "-m", "experiments.run", "-m", "seed=range(24)", "population.size=20000", "days=60",
            "progress=false", "jobs=2", f"out={out}"]
    rng = random.Random(7)
    for kill in range(4):
        proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        time.sleep(rng.uniform(3, 8))
        os.kill(proc.pid, signal.SIGKILL if kill % 2 == 0 else signal.SIGTERM)
        proc.wait(timeout=60)
        deadline = time.time() + 10
        while session_processes(proc.pid):
            assert time.time() < deadline, "workers outlived their launcher"
            time.sleep(0.2)
    final = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=1800)
    assert final.returncode == 0, final.stderr
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == 24 and runs["job"].is_unique and (runs["status"] == "ok").all()
    assert sorted(runs["seed"]) == list(range(24))
    for _, row in runs.iterrows():
        summary = json.loads((out / row["job"] / "summary.json").read_text())
        assert summary["seed"] == row["seed"] and summary["job_key"] == row["job_key"]
    daily = pd.read_parquet(out / "daily.parquet")
    assert len(daily) == 24 * 60 and not list(out.rglob(".*.tmp"))
