"""Run one market, or sweep many: ``python -m experiments.run [-m] [key=value ...]``
(console script ``socialsim``).

Examples::

    python -m experiments.run                                   # the default market, 180 days
    python -m experiments.run scenario=bass network=watts_strogatz
    python -m experiments.run preset=my_market.yaml days=365    # a preset file; the command line wins
    python -m experiments.run -m campaign=referral campaign.referral.inviter_reward=5,10,20 'seed=range(10)'

One run writes its outputs (``sim.outputs.write_run``), ``config.yaml`` and
(``report=true``) plots and ``report.md`` into a new folder
``results/<scenario>/<time>/`` or ``out=DIR``. ``-m`` expands the swept keys
into jobs and runs them through :func:`experiments.batch.run_many` in
``results/sweeps/<sweep_name>/``. ``-m hydra/launcher=ray|slurm|submitit_local``
hands the jobs to Hydra's launcher instead (``experiments/hydra_app.py``).
Keys: ``docs/model.md``; sweeps: ``docs/sweeps.md``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from experiments.cli import claim_folder, command, new_folder, remove_folder, timestamp
from sim.errors import ConfigError

USAGE = """usage: python -m experiments.run [-m] [--cfg] [preset=FILE] [key=value ...]

  key=value       any key of docs/model.md (seed=7 days=365 population.size=50000 network=sbm
                  platform=jd campaign=[referral,coupon] scenario=festival_peak ...), or the app's:
                  out=DIR overwrite=true report=false progress=false baseline=false jobs=N
  preset=FILE     a YAML of overrides applied first (the command line wins)
  -m, --multirun  sweep: a=1,2,3 'seed=range(10)' make one job per combination (sweep_name=NAME
                  to resume); -m hydra/launcher=ray|slurm|submitit_local for Hydra's launchers
  --cfg           print the composed config and exit"""

#: Hydra's settings that keep their meaning here.
HYDRA_ALIASES = {"hydra.run.dir": "out", "hydra.sweep.dir": "out", "hydra.launcher.n_jobs": "jobs"}


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point; returns the exit code."""
    return command(_main, argv)


def _main(args: list[str]) -> int:
    if any(a in ("-h", "--help", "help") for a in args):
        print(USAGE)
        return 0
    multirun = any(a in ("-m", "--multirun") for a in args)
    show = "--cfg" in args
    args = [a for a in args if a not in ("-m", "--multirun", "--cfg", "job")]
    flags = [a for a in args if a.startswith("-")]
    if flags:
        raise ConfigError(flags[0], None, "unknown option; see --help")
    preset = next((a.split("=", 1)[1] for a in args if a.startswith("preset=")), None)
    args = [a for a in args if not a.startswith("preset=")]
    if multirun and any(a.split("=", 1)[0] in ("hydra/launcher", "hydra.launcher") or a.startswith("hydra.launcher.")
                        and not a.startswith("hydra.launcher.n_jobs") for a in args):
        from experiments.hydra_app import sweep_with_launcher

        return sweep_with_launcher(args, preset)
    overrides = [_alias(a) for a in args]
    if show:
        from experiments.batch import compose, config_yaml

        run = compose(overrides, preset)
        print(config_yaml(run.config, run.app), end="")
        return 0
    return sweep(overrides, preset) if multirun else run_one(overrides, preset)


def _alias(arg: str) -> str:
    key, _, value = arg.partition("=")
    if key.lstrip("+~") in HYDRA_ALIASES:
        return f"{HYDRA_ALIASES[key.lstrip('+~')]}={value}"
    if key.startswith(("hydra.", "hydra/")):
        raise ConfigError(key, value, "not used by experiments.run (out=DIR sets the output folder; "
                                      "-m hydra/launcher=... uses Hydra's launchers)")
    return arg


def run_one(overrides: list[str], preset: str | None = None) -> int:
    """One market (and its baseline), in a new or named folder; prints the result lines."""
    from experiments.batch import SUMMARY_FILE, FolderLock, Job, compose, execute, fit_workers

    run = compose(overrides, preset)
    app, config = run.app, run.config
    fit_workers([config], 1)
    if app.out:
        folder, created = claim_folder(app.out, finished=lambda p: (p / SUMMARY_FILE).exists(),
                                       overwrite=app.overwrite)
    else:
        folder, created = new_folder(Path("results") / config.scenario.name), True
    try:
        with FolderLock(folder):
            job = Job(folder.name, config, app.baseline, report=app.report, overrides=run.overrides,
                      orders=app.orders)
            execute(job, folder, progress=app.progress, raise_errors=True)
    except ConfigError:
        if created:
            remove_folder(folder)
        raise
    echo(folder)
    return 0


def echo(folder: Path) -> None:
    """The result lines of a finished run."""
    from experiments.formatting import num, pct
    from sim.outputs import read_json

    s = read_json(folder / "summary.json")
    print(f"{s['scenario']}: {s['population']:,} consumers x {s['days']} days | GMV ¥{s['gmv']:,.2f} "
          f"(net ¥{s['net_gmv']:,.2f}) | orders {s['orders']:,} (returned {s['returns']:,}) | customers {s['customers']:,} | D1 {pct(s['retention_d1'])} "
          f"D7 {pct(s['retention_d7'])} D30 {pct(s['retention_d30'])}")
    if s.get("campaigns"):
        line = f"campaign {'+'.join(s['campaigns'])}: cost ¥{s['campaign_cost_total']:,.2f}"
        if "incremental_gmv" in s:
            line += (f" | incremental GMV ¥{s['incremental_gmv']:,.2f}, customers {s['incremental_customers']:+,} "
                     f"| CAC {num(s['cac'])} | ROI {num(s['roi'])} (after returns {num(s['roi_net'])})")
        print(line)
    print(f"outputs: {folder}/ (metrics.parquet, summary.json, config.yaml)")
    if (folder / "report.md").exists():
        print(f"report: {folder / 'report.md'}")
        print("plots: " + ", ".join(sorted(p.name for p in folder.glob("*.png"))))


def sweep(overrides: list[str], preset: str | None = None) -> int:
    """Every combination of the swept keys, one job each, through the runner."""
    from experiments.batch import (NOT_IN_NAME, Job, check_names, compose_many, expand, fit_workers, job_folder_name,
                                   job_params, run_many)

    jobs_overrides = expand(overrides)
    composed = compose_many(jobs_overrides, preset)
    app = composed[0].app
    fit_workers((c.config for c in composed), app.jobs)
    explicit_report = any(o.split("=", 1)[0] == "report" for o in overrides)
    jobs = [Job(job_folder_name(ovs, NOT_IN_NAME), c.config, c.app.baseline, params=job_params(ovs),
                report=c.app.report and explicit_report, overrides=ovs, orders=c.app.orders)
            for ovs, c in zip(jobs_overrides, composed)]
    check_names(jobs)
    if app.out or app.sweep_name:
        folder = Path(app.out) if app.out else Path("results/sweeps") / app.sweep_name
    else:
        folder = new_folder("results/sweeps", timestamp())
    print(f"sweep {folder.name}: {len(jobs)} jobs -> {folder}/", file=sys.stderr, flush=True)
    batch = run_many(jobs, folder, workers=app.jobs, progress=app.progress, desc=f"sweep {folder.name}")
    print(batch.describe())
    return 0


if __name__ == "__main__":
    # Run from the importable module, not from __main__: Hydra's launchers pickle by reference.
    from experiments.run import main as _main

    sys.exit(_main())
