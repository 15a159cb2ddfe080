"""The cluster launchers run the same sweep: Ray (a local Ray instance) and submitit's
local executor (the SLURM path without SLURM). Skipped, with the reason, when the
optional extra (``pip install -e '.[cluster]'``) is not installed."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess

import pandas as pd
import pytest

from conftest import PYTHON, REPO


def _missing(*modules: str) -> str | None:
    for name in modules:
        try:
            if importlib.util.find_spec(name) is None:
                return name
        except ModuleNotFoundError:
            return name
    return None


def sweep_with(launcher: list[str], sweep_dir, timeout: int = 240) -> subprocess.CompletedProcess:
    env = {**os.environ, "HYDRA_FULL_ERROR": "0", "RAY_USAGE_STATS_ENABLED": "0"}
    cmd = [PYTHON, "-m", "experiments.run", "-m", *launcher, "seed=0,1", "population.size=400", "days=10",
           f"hydra.sweep.dir={sweep_dir}"]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout, env=env)


def check_two_jobs(proc, sweep_dir) -> None:
    assert proc.returncode == 0, proc.stderr[-3000:]
    runs = pd.read_parquet(sweep_dir / "runs.parquet")
    assert sorted(runs["seed"]) == [0, 1] and (runs["status"] == "ok").all() and runs["gmv"].gt(0).all()
    assert len(pd.read_parquet(sweep_dir / "daily.parquet")) == 20
    for job in runs["job"]:
        assert json.loads((sweep_dir / job / "summary.json").read_text())["days"] == 10


_ray = _missing("ray", "hydra_plugins.hydra_ray_launcher")


@pytest.mark.skipif(_ray is not None, reason=f"Ray launcher not installed ({_ray} missing): "
                                              "pip install -e '.[cluster]'")
def test_ray_launcher_runs_a_two_job_sweep_on_a_local_ray(tmp_path):
    sweep_dir = tmp_path / "ray"
    proc = sweep_with(["hydra/launcher=ray", "+hydra.launcher.ray.init.num_cpus=2",
                       "+hydra.launcher.ray.init.include_dashboard=false"], sweep_dir)
    check_two_jobs(proc, sweep_dir)
    assert "Ray Launcher is launching 2 jobs" in proc.stdout + proc.stderr


_submitit = _missing("submitit", "hydra_plugins.hydra_submitit_launcher")


@pytest.mark.skipif(_submitit is not None, reason=f"submitit launcher not installed ({_submitit} missing): "
                                                  "pip install -e '.[cluster]'")
def test_submitit_local_launcher_runs_a_two_job_sweep(tmp_path):
    sweep_dir = tmp_path / "submitit"
    proc = sweep_with(["hydra/launcher=submitit_local", "hydra.launcher.timeout_min=5"], sweep_dir)
    check_two_jobs(proc, sweep_dir)
    assert (sweep_dir / ".submitit").is_dir()  # submitit's own files, hidden from the collector


def test_slurm_launcher_config_composes():
    """conf/hydra/launcher/slurm.yaml (the documented SLURM settings) composes, without SLURM."""
    if _submitit is not None:
        pytest.skip(f"submitit launcher not installed ({_submitit} missing): pip install -e '.[cluster]'")
    from hydra import compose

    from experiments.batch import HydraContext

    with HydraContext():
        cfg = compose(config_name="config", overrides=["hydra/launcher=slurm", "hydra.launcher.partition=cpu"],
                      return_hydra_config=True)
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("SlurmLauncher")
    assert launcher.partition == "cpu" and launcher.cpus_per_task == 1 and launcher.array_parallelism >= 1
    assert str(launcher.submitit_folder).endswith(".submitit/%j")
