"""Sweeps (``experiments.run -m``) through the runner: named folders, job keys, resume,
failures recorded, collection."""

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

SMALL = ["population.size=400", "days=12", "progress=false"]


def run_cmd(*args: str, cwd: Path = REPO, timeout: int = 240, module: str = "experiments.run"):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([PYTHON, "-m", module, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env)


def jobs_of(sweep_dir: Path) -> list[str]:
    return sorted(p.name for p in sweep_dir.iterdir() if p.is_dir() and not p.name.startswith("."))


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    """2 seeds x 2 network files, one of them unreadable (its jobs fail while running), run
    twice: the second run resumes."""
    import networkx as nx

    cwd = tmp_path_factory.mktemp("grid")
    graph = nx.barabasi_albert_graph(400, 3, seed=1)
    pd.DataFrame(list(graph.edges()), columns=["source", "target"]).to_csv(cwd / "good.csv", index=False)
    (cwd / "bad.csv").write_text("source,target\n1,2\n2,x\n")
    args = ["sweep_name=grid", "seed=0,1", "network=file", "network.path=good.csv,bad.csv", *SMALL]
    first = run_cmd("-m", *args, cwd=cwd)
    sweep_dir = cwd / "results" / "sweeps" / "grid"
    runs1 = pd.read_parquet(sweep_dir / "runs.parquet")
    jobs1 = {name: json.loads((sweep_dir / name / "job.json").read_text()) for name in jobs_of(sweep_dir)}
    second = run_cmd("-m", *args, cwd=cwd)
    return first, second, sweep_dir, runs1, jobs1


def test_sweep_runs_every_job_in_its_named_folder(grid):
    first, _, sweep_dir, _, _ = grid
    assert first.returncode == 0, first.stderr
    assert jobs_of(sweep_dir) == sorted(f"days=12,network.path={f},network=file,population.size=400,seed={s}"
                                        for s in (0, 1) for f in ("good.csv", "bad.csv"))
    assert "sweep grid: 4 jobs -> results/sweeps/grid/" in first.stderr
    assert "4 jobs in results/sweeps/grid/: ok 2, failed 2, incomplete 0 (4 run now" in first.stdout
    plan = json.loads((sweep_dir / "plan.json").read_text())
    assert sorted(j["job"] for j in plan["jobs"]) == jobs_of(sweep_dir)
    assert not list(sweep_dir.rglob(".*.tmp"))


def test_a_failing_job_is_recorded_and_the_others_complete(grid):
    _, _, sweep_dir, runs, jobs = grid
    bad = runs[runs["network.path"] == "bad.csv"]
    good = runs[runs["network.path"] == "good.csv"]
    assert (bad["status"] == "failed").all() and (good["status"] == "ok").all()
    assert bad["error"].str.startswith("network.path='bad.csv'").all()
    assert (bad["error_type"] == "ConfigError").all()
    assert good["error"].isna().all() and good["gmv"].gt(0).all() and bad["gmv"].isna().all()
    folder = sweep_dir / bad["job"].iloc[0]
    error = json.loads((folder / "error.json").read_text())
    assert error["error_type"] == "ConfigError" and "Traceback" in error["traceback"]
    assert not (folder / "summary.json").exists()
    assert jobs[bad["job"].iloc[0]]["status"] == "failed"


def test_runs_parquet_schema_and_provenance(grid):
    _, _, sweep_dir, runs, _ = grid
    assert list(runs.columns[:12]) == ["job", "status", "error", "error_type", "config_hash", "job_key",
                                       "code_version", "overrides", "attempt", "job_seconds", "started", "finished"]
    for col in ("seed", "network.path", "days", "population.size", "gmv", "orders", "customers",
                "retention_d1", "retention_d7", "wall_seconds", "campaigns", "campaign_cost_total"):
        assert col in runs.columns, col
    assert "sweep_name" not in runs.columns and "progress" not in runs.columns
    assert runs["job"].is_unique and len(runs) == 4
    assert runs["config_hash"].str.fullmatch(r"[0-9a-f]{16}").all() and runs["config_hash"].is_unique
    assert runs["code_version"].str.startswith("0.1.0").all()
    assert pd.api.types.is_integer_dtype(runs["seed"]) and sorted(runs["seed"]) == [0, 0, 1, 1]
    assert pd.api.types.is_float_dtype(runs["gmv"]) and pd.api.types.is_float_dtype(runs["job_seconds"])
    for _, row in runs[runs["status"] == "ok"].iterrows():
        summary = json.loads((sweep_dir / row["job"] / "summary.json").read_text())
        assert (summary["config_hash"], summary["job_key"], summary["code_version"]) == (
            row["config_hash"], row["job_key"], row["code_version"])
        assert row["gmv"] == pytest.approx(summary["gmv"]) and row["seed"] == summary["seed"]
        assert "network:" in (sweep_dir / row["job"] / "config.yaml").read_text()


def test_daily_parquet_is_job_by_day(grid):
    _, _, sweep_dir, runs, _ = grid
    daily = pd.read_parquet(sweep_dir / "daily.parquet")
    assert list(daily.columns[:2]) == ["job", "config_hash"]
    assert "day" in daily.columns and "seed" in daily.columns and "network.path" in daily.columns
    ok = runs[runs["status"] == "ok"]
    assert len(daily) == len(ok) * 12 and set(daily["job"]) == set(ok["job"])
    assert daily.groupby("job")["day"].apply(list).map(lambda d: d == list(range(1, 13))).all()
    totals = daily.groupby("job")["gmv"].sum()
    assert totals.to_dict() == pytest.approx(ok.set_index("job")["gmv"].to_dict())


def test_second_run_skips_finished_jobs_and_retries_failed(grid):
    _, second, sweep_dir, runs1, jobs1 = grid
    assert second.returncode == 0, second.stderr
    assert "(2 run now" in second.stdout and "2 found finished" in second.stdout
    progress = json.loads((sweep_dir / "progress.json").read_text())
    assert (progress["total"], progress["skipped"], progress["ok"], progress["failed"], progress["final"]) == (
        4, 2, 0, 2, True)
    runs2 = pd.read_parquet(sweep_dir / "runs.parquet")
    assert len(runs2) == 4 and runs2["job"].is_unique
    for _, row in runs2.iterrows():
        job = json.loads((sweep_dir / row["job"] / "job.json").read_text())
        if row["status"] == "ok":  # not run again: the same record
            assert job == jobs1[row["job"]]
        else:  # failed again, as a new attempt
            assert job["attempt"] == 2
    pd.testing.assert_series_equal(runs1.set_index("job")["gmv"].sort_index(),
                                   runs2.set_index("job")["gmv"].sort_index())


def test_a_bad_value_in_any_job_refuses_the_sweep_before_it_runs(tmp_path):
    proc = run_cmd("-m", "seed=0,1", "diffusion.innovation=0.01,1.5", *SMALL, "sweep_name=refused", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: diffusion.innovation=1.5: must be a probability in [0, 1]"
    assert not (tmp_path / "results").exists()
    proc = run_cmd("-m", "seed=0,1", "nosuchkey=1,2", *SMALL, cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "nosuchkey" in proc.stderr
    assert not (tmp_path / "results").exists()


def test_extending_a_sweep_runs_only_the_new_jobs(tmp_path):
    first = run_cmd("-m", "seed=0,1", *SMALL, "sweep_name=ext", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    sweep_dir = tmp_path / "results" / "sweeps" / "ext"
    stamps = {p.parent.name: p.stat().st_mtime_ns for p in sweep_dir.glob("*/summary.json")}
    second = run_cmd("-m", "seed=range(3)", *SMALL, "sweep_name=ext", cwd=tmp_path)
    assert second.returncode == 0 and "(1 run now" in second.stdout, second.stdout + second.stderr
    assert {p.parent.name: p.stat().st_mtime_ns for p in sweep_dir.glob("*/summary.json")
            if p.parent.name in stamps} == stamps
    assert len(pd.read_parquet(sweep_dir / "runs.parquet")) == 3


def test_a_killed_sweep_resumes_and_collects_every_job_once(tmp_path):
    sweep_dir = tmp_path / "killed"
    args = ["-m", "seed=range(6)", "population.size=20000", "days=90", "jobs=1", "progress=false", f"out={sweep_dir}"]
    proc = subprocess.Popen([PYTHON, "-m", "experiments.run", *args], cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and len(list(sweep_dir.glob("*/summary.json"))) < 2:
            assert proc.poll() is None, "the sweep ended before it could be killed"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    done_before = {p.parent.name: p.stat().st_mtime_ns for p in sweep_dir.glob("*/summary.json")}
    assert 2 <= len(done_before) < 6
    from experiments.batch import collect

    partial = collect(sweep_dir).runs
    assert len(partial) == 6 and partial["job"].is_unique  # the plan names the jobs not started
    assert set(partial.loc[partial["status"] == "ok", "job"]) == set(done_before)
    assert (partial.loc[~partial["job"].isin(done_before), "status"] == "incomplete").all()

    resumed = run_cmd(*args)
    assert resumed.returncode == 0, resumed.stderr
    runs = pd.read_parquet(sweep_dir / "runs.parquet")
    assert len(runs) == 6 and runs["job"].is_unique and (runs["status"] == "ok").all()
    assert sorted(runs["seed"]) == list(range(6))
    for job, mtime in done_before.items():  # finished jobs were not run again
        assert (sweep_dir / job / "summary.json").stat().st_mtime_ns == mtime
    assert f"{len(done_before)} found finished" in resumed.stdout
    daily = pd.read_parquet(sweep_dir / "daily.parquet")
    assert len(daily) == 6 * 90 and daily.groupby("job").size().eq(90).all()


def test_a_job_run_again_removes_the_temporary_files_of_a_writer_killed_mid_write(tmp_path):
    """``atomic_write`` leaves ``.<name>.<pid>.tmp`` behind when its process is killed while
    writing; the job's next run clears them with the old outputs (no half-written files)."""
    from experiments.batch import Job, compose, execute

    folder = tmp_path / "seed=1"
    folder.mkdir()
    stale = [folder / ".metrics.parquet.4242.tmp", folder / ".summary.json.4242.tmp"]
    for path in stale:
        path.write_bytes(b"half")
    keep = folder / "notes.txt"
    keep.write_text("the user's own file")
    run = compose(["population.size=300", "days=5", "seed=1"])
    assert execute(Job("seed=1", run.config, params={"seed": 1}), folder)["status"] == "ok"
    assert not list(folder.rglob(".*.tmp")) and keep.exists()
    assert (folder / "summary.json").exists()


def test_collect_command_and_statuses(tmp_path):
    from experiments.batch import Job, compose, execute
    from sim.outputs import write_json

    sweep = tmp_path / "sweep"
    small = ["population.size=300", "days=5"]
    for name, extra in (("seed=1", ["seed=1"]), ("campaign=referral,seed=2", ["campaign=referral", "seed=2"])):
        run = compose([*small, *extra])
        execute(Job(name, run.config, params={"seed": run.config.seed}), sweep / name)
    failing = compose([*small, "seed=3", "network=file", "network.path=/no/such/edges.csv"])
    execute(Job("seed=3", failing.config, params={"seed": 3}), sweep / "seed=3")
    write_json({"status": "running", "key": "abc", "overrides": ["seed=4"], "params": {"seed": 4}},
               sweep / "seed=4" / "job.json")
    write_json({"jobs": [{"job": "seed=5", "overrides": ["seed=5"], "params": {"seed": 5}}]}, sweep / "plan.json")
    proc = run_cmd(str(sweep), module="experiments.collect")
    assert proc.returncode == 0, proc.stderr
    assert "5 jobs in" in proc.stdout and "ok 2, failed 1, incomplete 2" in proc.stdout
    runs = pd.read_parquet(sweep / "runs.parquet").set_index("job")
    assert runs.loc["seed=1", "status"] == "ok" and runs.loc["campaign=referral,seed=2", "status"] == "ok"
    assert runs.loc["seed=3", "status"] == "failed" and "network.path" in runs.loc["seed=3", "error"]
    assert runs.loc["seed=4", "status"] == "incomplete" and "killed" in runs.loc["seed=4", "error"]
    assert runs.loc["seed=5", "status"] == "incomplete" and runs.loc["seed=5", "error"] == "not started"
    assert runs.loc["campaign=referral,seed=2", "campaign_cost_referral"] >= 0  # nested dict flattened
    assert "incremental_gmv" in runs.columns and "k_factor" in runs.columns
    assert runs["seed"].tolist() == [2, 1, 3, 4, 5]
    daily = pd.read_parquet(sweep / "daily.parquet")
    assert sorted(set(daily["job"])) == ["campaign=referral,seed=2", "seed=1"] and len(daily) == 10


def test_collect_refuses_a_folder_without_jobs_and_writes_nothing(tmp_path):
    (tmp_path / "empty" / "notajob").mkdir(parents=True)
    for folder in (tmp_path / "empty", tmp_path / "missing"):
        proc = run_cmd(str(folder), module="experiments.collect")
        assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: folder=")
    assert sorted(p.name for p in (tmp_path / "empty").iterdir()) == ["notajob"]
    assert not (tmp_path / "missing").exists()


def test_job_key_follows_the_config_and_the_code_version():
    from experiments.batch import Job, compose

    def key(*overrides, **kw):
        return Job("j", compose(list(overrides)).config, **kw)

    base = key("seed=3", "days=20")
    assert len(base.key) == 16 and len(base.config_hash) == 16
    assert key("days=20", "seed=3", "report=false", "progress=false", "sweep_name=x").key == base.key
    assert key("seed=3", "days=20", "scenario=default").key == base.key  # the same market spelled out
    assert key("seed=3", "days=20", "market_seed=3").key == base.key  # the market seed follows the seed
    assert key("seed=4", "days=20").key != base.key
    assert key("seed=3", "days=20", baseline=False).key != base.key
    other = Job("j", base.config, code_version="9.9.9")
    assert other.config_hash == base.config_hash and other.key != base.key


def test_job_folder_names_are_safe_and_bounded():
    from experiments.batch import job_folder_name

    assert job_folder_name([]) == "default"
    assert job_folder_name(["seed=1", "network.path=data/edges.csv"]) == "network.path=data_edges.csv,seed=1"
    assert job_folder_name(["seed=1", "report=false"], ["report"]) == "seed=1"
    assert job_folder_name([".hidden=1"]) == "_hidden=1"
    long = [f"campaign.referral.key{i}={i}" for i in range(20)]
    name = job_folder_name(long)
    assert len(name) == 120 and "~" in name and job_folder_name(long) == name
    assert job_folder_name([*long, "x=0"]) != name


def test_console_script_sweeps_from_any_folder(tmp_path):
    script = Path(PYTHON).with_name("socialsim")
    proc = subprocess.run([str(script), "-m", "seed=0,1", *SMALL, "sweep_name=anywhere"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert len(pd.read_parquet(tmp_path / "results" / "sweeps" / "anywhere" / "runs.parquet")) == 2


def test_a_sweep_takes_a_preset_file_and_the_command_line_wins(tmp_path):
    (tmp_path / "market.yaml").write_text("network: erdos_renyi\npopulation: {size: 500}\ndays: 30\n")
    proc = run_cmd("-m", "preset=market.yaml", "seed=0,1", "days=8", "progress=false", "sweep_name=p", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    runs = pd.read_parquet(tmp_path / "results" / "sweeps" / "p" / "runs.parquet")
    assert set(runs["network"]) == {"erdos_renyi"} and set(runs["population"]) == {500}
    assert set(runs["days"]) == {8} and sorted(runs["seed"]) == [0, 1]
