"""Sweep benchmark: a Hydra multirun of many 10^4-consumer x 180-day jobs, end to end.

    .venv/bin/python -m benchmarks.sweep                         # 1,000 jobs (10 imitation values x 100 seeds)
    .venv/bin/python -m benchmarks.sweep --jobs 200 --compare-basic 100 --resume

Runs the real command (``python -m experiments.run -m diffusion.imitation=... seed=range(...)``,
default market: 10^4 consumers, 180 days, no campaign, so no baseline run) in a
fresh sweep folder under ``--out`` and measures:

* **end to end**: from starting the command to its exit (Hydra start, plan, the jobs
  on the joblib workers, collection into runs.parquet / daily.parquet);
* from the job records (``job.json``: ``t_start``/``t_end``, ``job_seconds``) and
  the summaries (``wall_seconds``): the simulation time per job, the rest of the
  task (job key, outputs, records), the time before the first job starts (Hydra
  start, plan, pre-launch checks, worker processes starting and importing), and
  the time after the last job (collection);
* **in this process**, per job, what Hydra adds where the job runs: composing the
  job's config (``load_sweep_config``), ``run_job`` around the task (output folder,
  logging, the three ``.hydra/*.yaml``), and pickling one job's payload for the
  worker;
* with ``--compare-basic N``: a sweep of N jobs with Hydra's own basic sweeper
  (``hydra/sweeper=basic``: it composes every job before launching; on a re-run
  every job starts and skips itself where it runs) and with ours, each run
  twice (fresh, then again when finished);
* with ``--resume``: the same command again on the finished sweep (every job skipped).

Results: one JSON line per measurement on stdout and ``<out>/sweep.json``. The
numbers reported in docs/performance.md come from this script.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _load() -> float:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except OSError:
        return float("nan")


def sweep_args(n_jobs: int) -> list[str]:
    """n_jobs = (imitation values) x (seeds): 10 values when n_jobs is a multiple of 10."""
    values = 10 if n_jobs % 10 == 0 and n_jobs >= 10 else 1
    imitation = ",".join(f"{0.05 * (i + 1):.2f}" for i in range(values))
    return [f"diffusion.imitation={imitation}", f"seed=range({n_jobs // values})"]


def run_sweep(n_jobs: int, sweep_dir: Path, extra: list[str] = ()) -> dict:
    cmd = [sys.executable, "-m", "experiments.run", "-m", *sweep_args(n_jobs), "progress=false",
           f"hydra.sweep.dir={sweep_dir}", *extra]
    load0 = _load()
    samples: list[float] = []
    stop = threading.Event()

    def watch():  # the 1-minute load average every 5 s: was the machine shared?
        while not stop.wait(5):
            samples.append(_load())

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    t0 = time.time()
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    stop.set()
    if proc.returncode != 0:
        raise SystemExit(f"sweep failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    skipped = [line.split("[HYDRA] ", 1)[-1] for line in proc.stdout.splitlines() if "found finished" in line]
    return {"cmd": " ".join(cmd[2:]), "t0": t0, "end_to_end_s": round(elapsed, 2), "load_before": load0,
            "load_after": _load(), "load_max": max(samples, default=load0),
            "load_mean": round(sum(samples) / len(samples), 2) if samples else load0,
            "stderr_tail": proc.stderr.strip().splitlines()[-3:], "skipped_before_launch": skipped}


def job_stats(sweep_dir: Path, t0: float, t_exit: float) -> dict:
    import pandas as pd

    runs = pd.read_parquet(sweep_dir / "runs.parquet")
    recs = [json.loads(p.read_text()) for p in sweep_dir.glob("*/job.json")]
    starts = sorted(r["t_start"] for r in recs)
    ends = sorted(r["t_end"] for r in recs)
    ok = runs[runs["status"] == "ok"]
    sim = ok["wall_seconds"].astype(float)
    task = ok["job_seconds"].astype(float)
    n = len(runs)
    span = ends[-1] - starts[0]
    workers = len({r["pid"] for r in recs})
    return {
        "jobs": n, "ok": int(len(ok)), "workers": workers,
        "sim_s_mean": round(sim.mean(), 4), "sim_s_median": round(sim.median(), 4),
        "task_s_mean": round(task.mean(), 4), "task_rest_s_mean": round((task - sim).mean(), 4),
        "before_first_job_s": round(starts[0] - t0, 2), "jobs_span_s": round(span, 2),
        "after_last_job_s": round(t_exit - ends[-1], 2),
        # worker time per job between tasks: Hydra composition + run_job + transfer
        "worker_s_per_job": round(span * workers / n, 4),
        "worker_outside_task_s_per_job": round(span * workers / n - task.mean(), 4),
        "runs_parquet_rows": n, "daily_parquet_rows": int(len(pd.read_parquet(sweep_dir / "daily.parquet"))),
    }


def hydra_overheads(repeat: int = 30) -> dict:
    """Per job, in this process: compose, run_job around a no-op task, pickle a payload."""
    import logging

    import cloudpickle
    from hydra import initialize_config_module
    from hydra._internal.callbacks import Callbacks
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig
    from hydra.core.singleton import Singleton
    from hydra.core.utils import run_job, setup_globals
    from hydra.types import HydraContext, RunMode
    from omegaconf import open_dict

    import experiments.sweep  # noqa: F401 - the subdir resolver

    setup_globals()
    tmp = tempfile.mkdtemp(prefix="sweepbench-")
    with initialize_config_module(config_module="conf", version_base="1.3"):
        loader = GlobalHydra.instance().config_loader()
        master = loader.load_configuration("config", overrides=[f"hydra.sweep.dir={tmp}", "hydra.mode=MULTIRUN",
                                                                 "seed=0,1"], run_mode=RunMode.MULTIRUN)
        ctx = HydraContext(config_loader=loader, callbacks=Callbacks())
        compose_s = run_job_s = pickle_s = bare_s = 0.0
        size = 0
        for i in range(repeat):
            t0 = time.perf_counter()
            sc = loader.load_sweep_config(master, [f"seed={i}", "progress=false"])
            with open_dict(sc):
                sc.hydra.job.num, sc.hydra.job.id = i, f"job_{i}"
            bare = copy.deepcopy(sc)
            with open_dict(bare):
                bare.hydra.output_subdir = None  # no .hydra/*.yaml
                bare.hydra.job.num, bare.hydra.job.id = repeat + i, f"job_bare_{i}"
            HydraConfig.instance().set_config(sc)
            t1 = time.perf_counter()
            run_job(hydra_context=ctx, config=sc, task_function=lambda cfg: None, job_dir_key="hydra.sweep.dir",
                    job_subdir_key="hydra.sweep.subdir")
            t2 = time.perf_counter()
            blob = cloudpickle.dumps((i, [f"seed={i}"], ctx, master, Singleton.get_state()))
            t3 = time.perf_counter()
            compose_s, run_job_s, pickle_s, size = compose_s + t1 - t0, run_job_s + t2 - t1, pickle_s + t3 - t2, len(blob)
            HydraConfig.instance().set_config(bare)
            t4 = time.perf_counter()
            run_job(hydra_context=ctx, config=bare, task_function=lambda cfg: None, job_dir_key="hydra.sweep.dir",
                    job_subdir_key="hydra.sweep.subdir")
            bare_s += time.perf_counter() - t4
    logging.shutdown()
    shutil.rmtree(tmp, ignore_errors=True)
    return {"compose_ms": round(compose_s / repeat * 1000, 1), "run_job_ms": round(run_job_s / repeat * 1000, 1),
            "run_job_without_dot_hydra_ms": round(bare_s / repeat * 1000, 1),
            "pickle_payload_ms": round(pickle_s / repeat * 1000, 1), "payload_kib": round(size / 1024, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sweep", description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000, help="jobs in the sweep (default 1000; 0: none)")
    parser.add_argument("--compare-basic", type=int, default=0, metavar="N",
                        help="also run N jobs with Hydra's basic sweeper (0: skip)")
    parser.add_argument("--resume", action="store_true", help="also re-run the finished sweep (all skipped)")
    parser.add_argument("--out", default="benchmarks/out/sweep")
    parser.add_argument("--keep", action="store_true", help="keep the sweep folders")
    args = parser.parse_args(argv)
    out = REPO / args.out
    out.mkdir(parents=True, exist_ok=True)
    results = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                           "platform": platform.platform()}}
    if _load() > 0.5:
        print(f"warning: load average {_load():.2f} > 0.5: timings will be noisy", file=sys.stderr)

    results["hydra_per_job"] = hydra_overheads()
    print(json.dumps({"hydra_per_job": results["hydra_per_job"]}), flush=True)

    sweep_dir = out / f"sweep{args.jobs}"
    if args.jobs:
        shutil.rmtree(sweep_dir, ignore_errors=True)
        main_run = run_sweep(args.jobs, sweep_dir)
        main_run.update(job_stats(sweep_dir, main_run["t0"], main_run["t0"] + main_run["end_to_end_s"]))
        main_run["per_job_end_to_end_s"] = round(main_run["end_to_end_s"] / args.jobs, 4)
        results["sweep"] = main_run
        print(json.dumps({"sweep": main_run}), flush=True)

    if args.resume and args.jobs:
        again = run_sweep(args.jobs, sweep_dir)
        results["resume_all_skipped"] = {k: again[k] for k in ("end_to_end_s", "load_before", "load_after",
                                                               "load_mean", "skipped_before_launch")}
        print(json.dumps({"resume_all_skipped": results["resume_all_skipped"]}), flush=True)

    if args.compare_basic:
        basic_dir = out / f"basic{args.compare_basic}"
        ours_dir = out / f"ours{args.compare_basic}"
        for label, folder, extra in (("basic_sweeper", basic_dir, ["hydra/sweeper=basic"]),
                                     ("socialsim_sweeper", ours_dir, [])):
            shutil.rmtree(folder, ignore_errors=True)
            r = run_sweep(args.compare_basic, folder, extra)
            r.update(job_stats(folder, r["t0"], r["t0"] + r["end_to_end_s"]))
            results[f"{label}_{args.compare_basic}"] = r
            print(json.dumps({f"{label}_{args.compare_basic}": r}), flush=True)
            again = run_sweep(args.compare_basic, folder, extra)  # the finished sweep again: all skipped
            results[f"{label}_{args.compare_basic}_rerun"] = {
                k: again[k] for k in ("end_to_end_s", "load_mean", "skipped_before_launch")}
            print(json.dumps({f"{label}_{args.compare_basic}_rerun": results[f"{label}_{args.compare_basic}_rerun"]}),
                  flush=True)
            if not args.keep:
                shutil.rmtree(folder, ignore_errors=True)
    if not args.keep:
        shutil.rmtree(sweep_dir, ignore_errors=True)
    if not args.jobs and (out / "sweep.json").exists():  # keep the main sweep's numbers
        results = {**json.loads((out / "sweep.json").read_text()), **results}
    (out / "sweep.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"results: {out / 'sweep.json'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
