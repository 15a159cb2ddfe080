"""Sweeps through Hydra's own launchers: ``python -m experiments.run -m hydra/launcher=ray ...``.

Local sweeps run through :func:`experiments.batch.run_many`. For a cluster, Hydra's
basic sweeper and the chosen launcher (Ray, SLURM through submitit, submitit's
local executor) start the jobs, and each job calls :func:`task`, which runs it
with the same :func:`experiments.batch.execute` into
``results/sweeps/<sweep_name>/<job>/`` (skipping a job found finished). The
launching process then collects the folder into ``runs.parquet`` and
``daily.parquet``. Importing this module registers the structured configs, so a
remote worker that imports the task can compose.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from experiments import batch
from experiments.cli import timestamp

batch.register_configs()


@hydra.main(config_path="pkg://conf", config_name="config", version_base="1.3")
def task(cfg: DictConfig) -> str:
    """One job of a Hydra multirun: its folder is named by its overrides, as in local sweeps."""
    logging.getLogger("MESA").setLevel(logging.WARNING)  # Mesa logs every step at INFO
    hc = HydraConfig.get()
    overrides = [o for o in hc.overrides.task if not o.startswith(("hydra/", "hydra."))]
    composed = batch.composed(cfg, overrides)
    name = batch.job_folder_name(overrides, batch.NOT_IN_NAME)
    job = batch.Job(name, composed.config, composed.app.baseline, params=batch.job_params(overrides), overrides=overrides,
                    orders=composed.app.orders)
    folder = Path(hc.sweep.dir)
    if not batch.finished(folder, job):
        batch.execute(job, folder / name)
    return name


def sweep_with_launcher(args: list[str], preset: str | None) -> int:
    """Hand the sweep to Hydra (its command line), then collect the sweep folder."""
    if preset:
        args = [*batch.preset_overrides(preset), *args]
    name = next((a.split("=", 1)[1] for a in args if a.startswith("sweep_name=")), None)
    if name is None:
        name = timestamp()
        args.append(f"sweep_name={name}")
    folder = Path(next((a.split("=", 1)[1] for a in args if a.startswith("hydra.sweep.dir=")),
                       f"results/sweeps/{name}"))
    sys.argv = [sys.argv[0], "-m", *args]
    task()
    collected = batch.collect(folder)
    collected.write()
    print(collected.describe())
    return 0
