"""Run one market: ``python -m experiments.run [hydra overrides]`` (console script ``socialsim``).

Examples::

    python -m experiments.run                         # default scenario, 180 days
    python -m experiments.run scenario=bass           # the Bass special case
    python -m experiments.run network=watts_strogatz population.size=50000 days=365
    python -m experiments.run network=file network.path=edges.csv

Writes ``metrics.parquet``, ``summary.json``, ``retention.parquet``,
``cohorts.parquet`` and (``report=true``) plots and ``report.md`` into the
Hydra run directory under ``results/``. Bad input stops the run before it
simulates, with one line naming the key, the value and what is allowed.

With ``-m`` (multirun) every job goes through :func:`experiments.sweep.run_sweep_job`:
jobs run in parallel on the local cores (joblib launcher), in
``results/sweeps/<sweep_name>/<overrides>/``, a finished job is skipped when the
sweep runs again, a failing job is recorded and the others go on, and the sweep
ends with ``runs.parquet`` and ``daily.parquet`` (``docs/sweeps.md``).
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

import experiments.sweep  # noqa: F401 - registers the ${sweep_subdir:...} resolver of conf/config.yaml
from sim.build import build_config
from sim.config import SimConfig
from sim.errors import ConfigError

APP_KEYS = ("report", "progress", "baseline", "sweep_name")


def to_sim_config(cfg: DictConfig | dict) -> SimConfig:
    """The typed, validated core config from a composed Hydra config (app keys dropped)."""
    data = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else dict(cfg)
    for key in APP_KEYS:
        data.pop(key, None)
    data.pop("hydra", None)
    return build_config(data)


def run_once(cfg: DictConfig, out_dir: str | Path, *, echo: bool = True, report: bool | None = None,
             progress: bool | None = None, extra_summary: dict | None = None) -> dict:
    """Validate, simulate (and, with a campaign, its baseline), write outputs and the
    report; returns the summary.

    ``echo``: print the result lines; ``report`` / ``progress``: override the
    config's keys; ``extra_summary``: more fields for ``summary.json``.
    """
    from sim.evaluation import evaluate, incremental
    from sim.outputs import write_run

    config = to_sim_config(cfg)
    out_dir = Path(out_dir)
    start = time.perf_counter()
    progress = bool(cfg.get("progress", True)) if progress is None else progress
    result = evaluate(config, progress=progress, with_baseline=bool(cfg.get("baseline", True)))
    extra = {"wall_seconds": round(time.perf_counter() - start, 3), **(extra_summary or {})}
    if result.baseline is not None:
        base_summary = result.baseline.summary()
        write_run(result.baseline, out_dir / "baseline")
        extra.update(incremental(result.model.summary(), base_summary))
    paths = write_run(result.model, out_dir, extra)
    summary = {**result.model.summary(), **extra}
    report = bool(cfg.get("report", True)) if report is None else report
    if not echo:
        if report:
            from experiments.report import write_report

            write_report(out_dir)
        return {**summary, "paths": paths}
    print(f"{config.scenario.name}: {summary['population']:,} consumers x {summary['days']} days | "
          f"GMV ¥{summary['gmv']:,.2f} | orders {summary['orders']:,} | customers {summary['customers']:,} | "
          f"D1 {_pct(summary['retention_d1'])} D7 {_pct(summary['retention_d7'])} "
          f"D30 {_pct(summary['retention_d30'])}")
    if config.campaign.mechanisms:
        line = f"campaign {'+'.join(config.campaign.keys)}: cost ¥{summary['campaign_cost_total']:,.2f}"
        if "incremental_gmv" in summary:
            line += (f" | incremental GMV ¥{summary['incremental_gmv']:,.2f}, customers "
                     f"{summary['incremental_customers']:+,} | CAC {_num(summary['cac'])} | ROI {_num(summary['roi'])}")
        print(line)
    print(f"outputs: {out_dir}/ (metrics.parquet, summary.json)")
    if report:
        from experiments.report import write_report

        written = write_report(out_dir)
        print("report: " + str(written[-1]))
        print("plots: " + ", ".join(p.name for p in written[:-1]))
    return {**summary, "paths": paths}


def _pct(value) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _num(value) -> str:
    return "n/a" if value is None else f"{value:,.2f}"


@hydra.main(config_path="pkg://conf", config_name="config", version_base="1.3")
def _hydra_main(cfg: DictConfig):
    logging.getLogger("MESA").setLevel(logging.WARNING)  # Mesa logs every step at INFO
    hydra_cfg = HydraConfig.get()
    if hydra_cfg.mode == RunMode.MULTIRUN:
        from experiments.sweep import run_sweep_job

        overrides = list(hydra_cfg.overrides.task)
        # In a sweep the per-job plots are off unless report=true is on the command line.
        explicit = any(o.split("=", 1)[0].lstrip("+~") == "report" for o in overrides)
        return run_sweep_job(cfg, hydra_cfg.runtime.output_dir, overrides,
                             report=bool(cfg.get("report", True)) and explicit)
    try:
        run_once(cfg, HydraConfig.get().runtime.output_dir)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)


def main() -> None:
    """Console-script entry point."""
    _hydra_main()


if __name__ == "__main__":
    # Run the task function from the importable module, not from __main__: multirun
    # launchers pickle it, and by reference is cheap and imports the same code.
    from experiments.run import main as _main

    _main()
