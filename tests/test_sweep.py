"""Sweeps: parallel multirun, fixed folders, job keys, resume, failures, collection."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from conftest import PYTHON, REPO

SMALL = ["population.size=400", "days=12"]


def run_sweep(*overrides: str, cwd: Path = REPO, timeout: int = 180) -> subprocess.CompletedProcess:
    env = {**os.environ, "HYDRA_FULL_ERROR": "0", "PYTHONPATH": str(REPO)}
    return subprocess.run([PYTHON, "-m", "experiments.run", "-m", *overrides], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env=env)


def compose(*overrides: str, hydra: bool = False):
    from hydra import compose as hydra_compose, initialize_config_module

    with initialize_config_module(config_module="conf", version_base="1.3"):
        return hydra_compose(config_name="config", overrides=list(overrides), return_hydra_config=hydra)


def jobs_of(sweep_dir: Path) -> list[str]:
    return sorted(p.name for p in sweep_dir.iterdir() if p.is_dir() and not p.name.startswith("."))


# ---------------------------------------------------------------------------- a sweep end to end
@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    """2 seeds x 2 innovation values, one of them invalid, run twice (the second run resumes)."""
    cwd = tmp_path_factory.mktemp("grid")
    args = ["sweep_name=grid", "seed=0,1", "diffusion.innovation=0.01,1.5", *SMALL]
    first = run_sweep(*args, cwd=cwd)
    sweep_dir = cwd / "results" / "sweeps" / "grid"
    runs1 = pd.read_parquet(sweep_dir / "runs.parquet") if (sweep_dir / "runs.parquet").exists() else None
    jobs1 = {p.name: json.loads((p / "job.json").read_text()) for p in sweep_dir.iterdir()
             if (p / "job.json").exists()}
    jobs1["progress.json"] = json.loads((sweep_dir / "progress.json").read_text())
    second = run_sweep(*args, cwd=cwd)
    return first, second, sweep_dir, runs1, jobs1


def test_sweep_runs_every_job_in_its_named_folder(grid):
    first, _, sweep_dir, _, jobs1 = grid
    assert first.returncode == 0, first.stderr
    assert jobs_of(sweep_dir) == sorted(
        f"days=12,diffusion.innovation={v},population.size=400,seed={s}" for s in (0, 1) for v in (0.01, 1.5))
    assert "Joblib.Parallel" in first.stdout + first.stderr  # the joblib launcher is the default
    assert "sweep grid: 4/4 done (ok 2, skipped 0, failed 2)" in first.stderr  # progress, final line
    progress = jobs1["progress.json"]
    assert progress["total"] == 4 and progress["ok"] == 2 and progress["failed"] == 2 and progress["final"]
    plan = json.loads((sweep_dir / "sweep.json").read_text())
    assert sorted(j["subdir"] for j in plan["jobs"]) == jobs_of(sweep_dir)
    assert "collected 4 jobs" in first.stderr and "ok 2, failed 2, incomplete 0" in first.stderr
    assert not list(sweep_dir.rglob("*.tmp"))


def test_a_failing_job_is_recorded_and_the_others_complete(grid):
    _, _, sweep_dir, runs, jobs = grid
    bad = runs[runs["diffusion.innovation"] == 1.5]
    good = runs[runs["diffusion.innovation"] == 0.01]
    assert (bad["status"] == "failed").all() and (good["status"] == "ok").all()
    assert bad["error"].str.startswith("diffusion.innovation=1.5: must be a probability").all()
    assert (bad["error_type"] == "ConfigError").all()
    assert good["error"].isna().all() and good["gmv"].gt(0).all() and bad["gmv"].isna().all()
    folder = sweep_dir / bad["job"].iloc[0]
    error = json.loads((folder / "error.json").read_text())
    assert error["error_type"] == "ConfigError" and "Traceback" in error["traceback"]
    assert not (folder / "summary.json").exists()
    assert jobs[bad["job"].iloc[0]]["status"] == "failed"


def test_runs_parquet_schema(grid):
    _, _, sweep_dir, runs, _ = grid
    assert list(runs.columns[:10]) == ["job", "status", "error", "error_type", "config_hash", "overrides",
                                       "attempt", "job_seconds", "started", "finished"]
    for col in ("seed", "diffusion.innovation", "days", "population.size", "gmv", "orders", "customers",
                "retention_d1", "retention_d7", "wall_seconds", "campaigns", "campaign_cost_total"):
        assert col in runs.columns, col
    assert "sweep_name" not in runs.columns and "progress" not in runs.columns
    assert runs["job"].is_unique and len(runs) == 4
    assert set(runs["status"]) <= {"ok", "failed", "incomplete"}
    assert runs["config_hash"].str.fullmatch(r"(raw)?[0-9a-f]+").all() and runs["config_hash"].str.len().eq(16).all()
    assert runs["config_hash"].is_unique
    assert pd.api.types.is_integer_dtype(runs["seed"]) and sorted(runs["seed"]) == [0, 0, 1, 1]
    assert pd.api.types.is_float_dtype(runs["diffusion.innovation"])
    assert pd.api.types.is_float_dtype(runs["gmv"]) and pd.api.types.is_float_dtype(runs["job_seconds"])
    ok = runs[runs["status"] == "ok"]
    for _, row in ok.iterrows():
        summary = json.loads((sweep_dir / row["job"] / "summary.json").read_text())
        assert summary["config_hash"] == row["config_hash"]
        assert row["gmv"] == pytest.approx(summary["gmv"]) and row["seed"] == summary["seed"]


def test_daily_parquet_is_job_by_day(grid):
    _, _, sweep_dir, runs, _ = grid
    daily = pd.read_parquet(sweep_dir / "daily.parquet")
    assert list(daily.columns[:2]) == ["job", "config_hash"]
    assert set(daily.columns[2:6]) == {"seed", "diffusion.innovation", "days", "population.size"}
    assert daily.columns[6] == "day"
    ok = runs[runs["status"] == "ok"]
    assert len(daily) == len(ok) * 12 and set(daily["job"]) == set(ok["job"])
    assert daily.groupby("job")["day"].apply(list).map(lambda d: d == list(range(1, 13))).all()
    for col in ("day", "gmv", "orders", "adopters", "seed", "diffusion.innovation"):
        assert col in daily.columns
    totals = daily.groupby("job")["gmv"].sum()
    assert totals.to_dict() == pytest.approx(ok.set_index("job")["gmv"].to_dict())


def test_second_run_skips_finished_jobs_and_retries_failed(grid):
    _, second, sweep_dir, runs1, jobs1 = grid
    assert second.returncode == 0, second.stderr
    assert "sweep grid: 4/4 done (ok 0, skipped 2, failed 2)" in second.stderr
    runs2 = pd.read_parquet(sweep_dir / "runs.parquet")
    assert len(runs2) == 4 and runs2["job"].is_unique
    assert json.loads((sweep_dir / "progress.json").read_text())["skipped"] == 2
    for _, row in runs2.iterrows():
        job = json.loads((sweep_dir / row["job"] / "job.json").read_text())
        if row["status"] == "ok":   # skipped: same key, same run
            assert job["skipped"] == 1 and job["attempt"] == 1 and job["finished"] == jobs1[row["job"]]["finished"]
        else:                        # failed again, as a new attempt
            assert job["attempt"] == 2
    pd.testing.assert_series_equal(runs1.set_index("job")["gmv"].sort_index(),
                                   runs2.set_index("job")["gmv"].sort_index())


def test_a_sweep_that_does_not_compose_stops_before_any_job(tmp_path):
    proc = run_sweep("seed=0,1", "nosuchkey=1,2", *SMALL, f"hydra.sweep.dir={tmp_path / 's'}")
    assert proc.returncode != 0
    assert "nosuchkey" in proc.stderr
    assert not [p for p in (tmp_path / "s").glob("*") if p.is_dir()]  # no job folder (glob of a missing dir: [])


# ---------------------------------------------------------------------------- killed halfway
def test_a_killed_sweep_resumes_and_collects_every_job_once(tmp_path):
    sweep_dir = tmp_path / "killed"
    args = ["seed=range(6)", "population.size=20000", "days=90", "hydra.launcher.n_jobs=1",
            f"hydra.sweep.dir={sweep_dir}"]
    env = {**os.environ, "HYDRA_FULL_ERROR": "0"}
    proc = subprocess.Popen([PYTHON, "-m", "experiments.run", "-m", *args], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and len(list(sweep_dir.glob("*/summary.json"))) < 2:
            assert proc.poll() is None, "the sweep ended before it could be killed"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the launcher and its workers, mid-sweep
        proc.wait()
    done_before = {p.parent.name: p.stat().st_mtime_ns for p in sweep_dir.glob("*/summary.json")}
    assert 2 <= len(done_before) < 6
    # a job killed while writing: its record says running, a temporary file is left
    unfinished = sorted(f"days=90,population.size=20000,seed={s}" for s in range(6)
                        if f"days=90,population.size=20000,seed={s}" not in done_before)
    stale = sweep_dir / unfinished[-1]
    stale.mkdir(exist_ok=True)
    (stale / "job.json").write_text(json.dumps({"key": "0" * 16, "status": "running", "overrides": [],
                                                "params": {"seed": 5}}))
    (stale / ".metrics.parquet.4242.tmp").write_bytes(b"PAR1 half")

    from experiments.collect import collect

    partial = collect(sweep_dir).runs
    assert len(partial) == 6 and partial["job"].is_unique  # the plan names the jobs not started
    assert set(partial.loc[partial["status"] == "ok", "job"]) == set(done_before)
    assert (partial.loc[~partial["job"].isin(done_before), "status"] == "incomplete").all()

    resumed = run_sweep(*args)
    assert resumed.returncode == 0, resumed.stderr
    runs = pd.read_parquet(sweep_dir / "runs.parquet")
    assert len(runs) == 6 and runs["job"].is_unique and (runs["status"] == "ok").all()
    assert sorted(runs["seed"]) == list(range(6))
    for job, mtime in done_before.items():  # finished jobs were not run again
        assert (sweep_dir / job / "summary.json").stat().st_mtime_ns == mtime
    assert f"skipped {len(done_before)}" in resumed.stderr
    daily = pd.read_parquet(sweep_dir / "daily.parquet")
    assert len(daily) == 6 * 90 and daily.groupby("job").size().eq(90).all()


# ---------------------------------------------------------------------------- in-process pieces
def test_job_key_follows_the_resolved_config():
    from experiments.sweep import job_key

    base = job_key(compose("seed=3", "days=20"))
    assert len(base) == 16
    assert job_key(compose("days=20", "seed=3", "report=false", "progress=false", "sweep_name=x")) == base
    assert job_key(compose("seed=3", "days=20", "scenario=default")) == base  # the same market spelled out
    assert job_key(compose("seed=4", "days=20")) != base
    assert job_key(compose("seed=3", "days=20", "baseline=false")) != base
    assert job_key(compose("seed=3", "days=20", "diffusion.innovation=1.5")).startswith("raw")


def test_job_subdir_names_are_safe_and_bounded():
    from experiments.sweep import MAX_SUBDIR, job_subdir

    assert job_subdir("") == "default"
    assert job_subdir("network.path=data/edges.csv,seed=1") == "network.path=data_edges.csv,seed=1"
    assert job_subdir(".hidden=1") == "_hidden=1"
    long = ",".join(f"campaign.referral.key{i}={i}" for i in range(20))
    name = job_subdir(long)
    assert len(name) == MAX_SUBDIR and "~" in name and job_subdir(long) == name
    assert job_subdir(long + "0") != name


def test_sweep_config_defaults():
    cfg = compose("sweep_name=my_grid", hydra=True)
    assert cfg.hydra.sweep.dir == "results/sweeps/my_grid"
    assert cfg.hydra.launcher._target_.endswith("JoblibLauncher")
    assert cfg.hydra.sweeper._target_ == "hydra_plugins.socialsim_sweeper.SocialsimSweeper"
    assert cfg.hydra.callbacks.sweep._target_ == "experiments.sweep.SweepCallback"
    assert set(cfg.hydra.job.config.override_dirname.exclude_keys) == {"sweep_name", "report", "progress"}
    from experiments.run import to_sim_config

    assert to_sim_config(compose("sweep_name=x")).seed == 0  # an app key, not a model key


def test_run_sweep_job_records_a_crash_and_then_skips_the_finished_run(tmp_path):
    from experiments.sweep import run_sweep_job

    cfg = compose("population.size=300", "days=5", "seed=2")

    def crash(c, d, extra):
        raise RuntimeError("boom in the model\nsecond line")

    out = run_sweep_job(cfg, tmp_path / "job", ["seed=2"], run=crash)
    assert out["status"] == "failed" and out["error"] == "RuntimeError: boom in the model"
    job = json.loads((tmp_path / "job" / "job.json").read_text())
    assert job["status"] == "failed" and job["error_type"] == "RuntimeError" and job["params"] == {"seed": 2}
    assert "boom" in json.loads((tmp_path / "job" / "error.json").read_text())["traceback"]

    assert run_sweep_job(cfg, tmp_path / "job", ["seed=2"])["status"] == "ok"
    assert not (tmp_path / "job" / "error.json").exists()
    job = json.loads((tmp_path / "job" / "job.json").read_text())
    assert job["status"] == "ok" and job["attempt"] == 2 and "error" not in job
    assert run_sweep_job(cfg, tmp_path / "job", ["seed=2"])["status"] == "skipped"
    # the same folder with another config runs again
    cfg2 = compose("population.size=300", "days=6", "seed=2")
    assert run_sweep_job(cfg2, tmp_path / "job", ["seed=2"])["status"] == "ok"
    assert json.loads((tmp_path / "job" / "summary.json").read_text())["days"] == 6


def test_collect_command_and_statuses(tmp_path):
    from experiments.sweep import PLAN_FILE, run_sweep_job
    from sim.outputs import write_json

    sweep = tmp_path / "sweep"
    run_sweep_job(compose("population.size=300", "days=5", "seed=1"), sweep / "seed=1", ["seed=1"])
    run_sweep_job(compose("population.size=300", "days=5", "seed=2", "campaign=referral"),
                  sweep / "campaign=referral,seed=2", ["campaign=referral", "seed=2"])
    run_sweep_job(compose("population.size=300", "seed=3", "days=-1"), sweep / "seed=3", ["seed=3"])
    (sweep / "seed=4").mkdir()
    write_json({"status": "running", "key": "abc", "overrides": ["seed=4"], "params": {"seed": 4}},
               sweep / "seed=4" / "job.json")
    write_json({"jobs": [{"overrides": ["seed=5"], "subdir": "seed=5"}]}, sweep / PLAN_FILE)
    proc = subprocess.run([PYTHON, "-m", "experiments.collect", str(sweep)], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "collected 5 jobs" in proc.stdout and "ok 2, failed 1, incomplete 2" in proc.stdout
    runs = pd.read_parquet(sweep / "runs.parquet").set_index("job")
    assert runs.loc["seed=1", "status"] == "ok" and runs.loc["campaign=referral,seed=2", "status"] == "ok"
    assert runs.loc["seed=3", "status"] == "failed" and "days=-1" in runs.loc["seed=3", "error"]
    assert runs.loc["seed=4", "status"] == "incomplete" and "killed" in runs.loc["seed=4", "error"]
    assert runs.loc["seed=5", "status"] == "incomplete" and runs.loc["seed=5", "error"] == "not started"
    assert runs.loc["campaign=referral,seed=2", "campaign"] == "referral"
    assert runs.loc["campaign=referral,seed=2", "campaign_cost_referral"] >= 0  # nested dict flattened
    assert "incremental_gmv" in runs.columns and "k_factor" in runs.columns
    assert runs["seed"].tolist() == [2, 1, 3, 4, 5]
    daily = pd.read_parquet(sweep / "daily.parquet")
    assert sorted(set(daily["job"])) == ["campaign=referral,seed=2", "seed=1"] and len(daily) == 10
    assert daily.loc[daily["job"] == "campaign=referral,seed=2", "campaign_cost"].sum() == pytest.approx(
        runs.loc["campaign=referral,seed=2", "campaign_cost_total"])
    bad = subprocess.run([PYTHON, "-m", "experiments.collect", str(tmp_path / "nope")], cwd=REPO,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and bad.stderr.startswith("error:")


def test_progress_counts_from_the_job_folders(tmp_path):
    import io

    from experiments.sweep import Progress
    from sim.outputs import write_json

    for name, status in (("a", "ok"), ("b", "failed"), ("c", "running")):
        write_json({"status": status}, tmp_path / name / "job.json")
    stream = io.StringIO()
    p = Progress(tmp_path, ["a", "b", "c", "d"], name="t", stream=stream)
    state = p.report(final=True)
    assert (state["ok"], state["failed"], state["running"], state["left"], state["total"]) == (1, 1, 1, 2, 4)
    assert stream.getvalue().startswith("sweep t: 2/4 done (ok 1, skipped 0, failed 1), 1 running, 2 left")
    assert json.loads((tmp_path / "progress.json").read_text())["final"] is True


def test_sweeper_composes_one_job_per_new_key_or_option():
    from hydra_plugins.socialsim_sweeper import SocialsimSweeper

    composed = []

    class Loader:
        def get_group_options(self, key):
            return ["none", "referral", "coupon"] if key == "campaign" else []

        def load_sweep_config(self, master_config, sweep_overrides):
            composed.append(sweep_overrides)

    class Context:
        config_loader = Loader()

    sweeper = SocialsimSweeper(max_batch_size=None)
    sweeper.hydra_context, sweeper.config = Context(), object()
    batch = [[f"seed={s}", f"campaign={c}", f"days={d}"] for s in range(50) for c in ("none", "referral")
             for d in (30, 60)]
    sweeper.validate_batch_is_legal(batch)
    assert composed == [["seed=0", "campaign=none", "days=30"], ["seed=0", "campaign=referral", "days=30"]]


def test_job_keys_before_launching_match_a_full_composition():
    from hydra import initialize_config_module
    from hydra.core.global_hydra import GlobalHydra
    from hydra.types import RunMode

    from experiments.sweep import _Keys, job_key

    with initialize_config_module(config_module="conf", version_base="1.3"):
        loader = GlobalHydra.instance().config_loader()
        master = loader.load_configuration("config", overrides=["hydra.mode=MULTIRUN", "seed=0,1"],
                                           run_mode=RunMode.MULTIRUN)
        keys = _Keys(loader, master)
        jobs = [["seed=3", "days=20"], ["seed=4", "days=20", "progress=false", "report=true"],
                ["campaign=referral", "campaign.referral.inviter_reward=5.5", "seed=1"],
                ["campaign=referral", "campaign.referral.inviter_reward=7", "seed=2"],
                ["platform=jd", "market.churn_hazard=0.02", "seed=1"], ["diffusion.innovation=1.5"]]
        for job in jobs:
            assert keys.key(job) == job_key(loader.load_sweep_config(master, job)), job
        assert not keys.broken and len(keys.templates) == 3
        assert keys.key(["+extra=1"]) is None and keys.key(["diffusion.nosuch=1"]) is None


def _sweeper_installed() -> bool:
    proc = subprocess.run([PYTHON, "-c", "import hydra_plugins.socialsim_sweeper"], cwd="/", capture_output=True)
    return proc.returncode == 0


@pytest.mark.skipif(not _sweeper_installed(),
                    reason="hydra_plugins.socialsim_sweeper is not installed (only importable from the repository): "
                           "add 'hydra_plugins*' to [tool.setuptools.packages.find] include and reinstall")
def test_console_script_sweeps_from_any_folder(tmp_path):
    from pathlib import Path as _P

    script = _P(PYTHON).with_name("socialsim")
    proc = subprocess.run([str(script), "-m", "seed=0,1", *SMALL, "sweep_name=anywhere"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert len(pd.read_parquet(tmp_path / "results" / "sweeps" / "anywhere" / "runs.parquet")) == 2
