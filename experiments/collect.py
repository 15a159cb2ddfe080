"""Collect a sweep folder into two tidy tables: ``python -m experiments.collect DIR``.

Usage::

    python -m experiments.collect results/sweeps/my_sweep            # writes DIR/runs.parquet, DIR/daily.parquet
    python -m experiments.collect results/sweeps/my_sweep --out tables/

Also run at the end of every multirun by :class:`experiments.sweep.SweepCallback`.

``runs.parquet``: one row per job, in job-folder order:

* ``job`` (the job folder's name), ``status`` (``ok``, ``failed`` or
  ``incomplete``: started and not finished, or planned in ``sweep.json`` and not
  started), ``error`` (one line; null unless failed or incomplete),
  ``error_type``, ``config_hash`` (the job key, :func:`experiments.sweep.job_key`),
  ``overrides`` (the job's command-line overrides, space separated), ``attempt``,
  ``job_seconds`` (the whole job: validate, simulate, write), ``started``,
  ``finished``;
* one column per overridden key, named as on the command line
  (``seed``, ``campaign.referral.inviter_reward``, ``platform`` for a config-group
  choice; a list choice ``campaign=[a,b]`` is ``"a+b"``), typed;
* ``seed`` always (from the summary, or the job's config if it failed);
* every KPI of ``summary.json``, nested dicts flattened with ``_``
  (``campaign_cost`` -> ``campaign_cost_referral``), lists dropped except
  ``campaigns`` (joined with ``+``); ``wall_seconds`` is the simulation time.
  A KPI whose name is also an override column (``days``, ``platform``) is kept
  once when the two agree, else it is renamed ``<name>_kpi``.

``daily.parquet``: long over jobs and days, one row per (job, day) of every
``ok`` job: ``job``, ``config_hash``, the override columns and ``seed``, then the
columns of the job's ``metrics.parquet`` (``day``, ``gmv``, ``orders``, …,
campaign columns; a metric a job lacks is null). Select a run with
``daily[daily.job == name]`` or join on ``job`` with ``runs``.

Both files are written atomically (dot-prefixed temporary, then rename),
``daily.parquet`` first and ``runs.parquet`` last.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.sweep import (ERROR_FILE, JOB_FILE, NOT_IN_KEY, PLAN_FILE, SUMMARY_FILE, read_json,
                              swept_params)
from sim.outputs import flatten

RUNS_FILE = "runs.parquet"
DAILY_FILE = "daily.parquet"
#: The first columns of runs.parquet, in this order (override columns and KPIs follow).
META = ("job", "status", "error", "error_type", "config_hash", "overrides", "attempt", "job_seconds",
        "started", "finished")
STATUSES = ("ok", "failed", "incomplete")


@dataclass
class Collected:
    runs: pd.DataFrame
    daily: pd.DataFrame
    params: list[str] = field(default_factory=list)   # override columns
    kpis: list[str] = field(default_factory=list)     # summary columns
    paths: dict[str, Path] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        vc = self.runs["status"].value_counts() if len(self.runs) else {}
        return {s: int(vc.get(s, 0)) for s in STATUSES}


def job_folders(sweep_dir: Path) -> list[Path]:
    """Sub-folders that are job folders (hold ``job.json``, ``summary.json`` or ``.hydra``)."""
    out = []
    try:
        entries = sorted(os.scandir(sweep_dir), key=lambda e: e.name)
    except FileNotFoundError:
        return []
    for e in entries:
        if not e.is_dir() or e.name.startswith("."):
            continue
        p = Path(e.path)
        if (p / JOB_FILE).exists() or (p / SUMMARY_FILE).exists() or (p / ".hydra").is_dir():
            out.append(p)
    return out


def _overrides_of(folder: Path, job: dict) -> list[str]:
    if job.get("overrides") is not None:
        return list(job["overrides"])
    try:  # a job folder without job.json (e.g. killed before the task started)
        import yaml

        return [str(o) for o in yaml.safe_load((folder / ".hydra" / "overrides.yaml").read_text()) or []]
    except Exception:  # noqa: BLE001 - missing, or cut short by a kill
        return []


def _job_row(folder: Path) -> tuple[dict, dict, dict | None]:
    """(meta, params, summary or None) of one job folder."""
    job = read_json(folder / JOB_FILE) or {}
    summary = read_json(folder / SUMMARY_FILE)
    overrides = _overrides_of(folder, job)
    params = job.get("params") if job.get("params") is not None else swept_params(overrides)
    params = {k: v for k, v in params.items() if k not in NOT_IN_KEY}
    key = job.get("key") or (summary or {}).get("config_hash")
    ok = summary is not None and (not job or job.get("key") in (None, summary.get("config_hash")))
    meta = {"job": folder.name, "config_hash": key, "overrides": " ".join(overrides),
            "attempt": job.get("attempt"), "job_seconds": job.get("job_seconds"),
            "started": job.get("started"), "finished": job.get("finished"),
            "error": None, "error_type": None, "seed": job.get("seed")}
    if ok:
        meta["status"] = "ok"
    elif job.get("status") == "failed":
        err = read_json(folder / ERROR_FILE) or {}
        meta.update(status="failed", error=job.get("error") or err.get("message"),
                    error_type=job.get("error_type") or err.get("error_type"))
    else:
        meta.update(status="incomplete",
                    error="started, not finished (killed, or still running)" if job else "no job record")
        summary = None
    return meta, dict(params or {}), summary if ok else None


def _column(values: list) -> pd.Series:
    """One typed column from mixed Python values (numbers stay numbers, else text)."""
    present = [v for v in values if v is not None and not (isinstance(v, float) and np.isnan(v))]
    if present and all(isinstance(v, bool) for v in present):
        return pd.Series([None if v is None else bool(v) for v in values], dtype="boolean")
    if present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        if all(isinstance(v, int) for v in present):
            return pd.Series(values, dtype="Int64") if len(present) < len(values) else pd.Series(values, dtype="int64")
        return pd.Series([np.nan if v is None else float(v) for v in values], dtype="float64")
    if not present:
        return pd.Series([None] * len(values), dtype="float64")
    return pd.Series([None if v is None else str(v) for v in values], dtype="object")


def collect(sweep_dir: str | Path, out_dir: str | Path | None = None, write: bool = True,
            daily: bool = True) -> Collected:
    """Read every job folder of a sweep (and the plan's jobs not started) into ``runs``
    and ``daily``; with ``write``, write ``runs.parquet`` and ``daily.parquet`` into
    ``out_dir`` (default: the sweep folder)."""
    from sim.outputs import write_parquet

    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise FileNotFoundError(f"{sweep_dir}: no such sweep folder")
    metas, params, summaries = [], [], []
    seen = set()
    for folder in job_folders(sweep_dir):
        meta, prm, summary = _job_row(folder)
        metas.append(meta)
        params.append(prm)
        summaries.append(summary)
        seen.add(folder.name)
    plan = read_json(sweep_dir / PLAN_FILE) or {}
    for job in plan.get("jobs") or []:
        sub = job.get("subdir")
        if sub and sub not in seen:
            seen.add(sub)
            metas.append({"job": sub, "status": "incomplete", "error": "not started",
                          "overrides": " ".join(job.get("overrides") or []), "seed": None})
            params.append(swept_params(job.get("overrides") or []))
            summaries.append(None)

    param_keys = list(dict.fromkeys(k for p in params for k in p))
    flat = [flatten(s) if s else {} for s in summaries]
    kpi_keys = list(dict.fromkeys(k for f in flat for k in f))
    columns: dict[str, pd.Series] = {}
    n = len(metas)
    for key in META:
        columns[key] = _column([m.get(key) for m in metas])
    for key in param_keys:
        columns[key] = _column([p.get(key) for p in params])
    seeds = [f.get("seed", m.get("seed")) for f, m in zip(flat, metas)]
    if "seed" not in columns:
        columns["seed"] = _column(seeds)
    kpis = []
    for key in kpi_keys:
        if key == "seed":
            continue
        col = _column([f.get(key) for f in flat])
        name = key
        if key in columns:
            both = pd.DataFrame({"a": columns[key].astype(object), "b": col.astype(object)}).dropna()
            if (both["a"].astype(str) == both["b"].astype(str)).all():
                continue
            name = f"{key}_kpi"
        columns[name] = col
        kpis.append(name)
    runs = pd.DataFrame(columns, index=pd.RangeIndex(n)) if n else pd.DataFrame(columns={k: [] for k in META})
    out = Collected(runs, pd.DataFrame(), param_keys, kpis)

    if daily:
        out.daily = _daily(sweep_dir, metas, params, param_keys, runs)

    if write:
        target = Path(out_dir) if out_dir is not None else sweep_dir
        if daily:
            out.paths["daily"] = write_parquet(out.daily, target / DAILY_FILE)
        out.paths["runs"] = write_parquet(out.runs, target / RUNS_FILE)
    return out


def _daily(sweep_dir: Path, metas: list[dict], params: list[dict], param_keys: list[str],
           runs: pd.DataFrame) -> pd.DataFrame:
    """The ``metrics.parquet`` of every ok job, stacked, with the job columns in front."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    seed_of = dict(zip(runs["job"], runs["seed"])) if len(runs) else {}
    tables, heads = [], []
    for meta, prm in zip(metas, params):
        if meta["status"] != "ok":
            continue
        try:
            table = pq.read_table(sweep_dir / meta["job"] / "metrics.parquet")
        except (OSError, ValueError, pa.ArrowException):
            continue
        tables.append(table)
        heads.append((meta["job"], meta.get("config_hash"), prm, seed_of.get(meta["job"])))
    if not tables:
        return pd.DataFrame(columns=["job", "config_hash", *param_keys, "seed", "day"])
    lengths = [t.num_rows for t in tables]
    metrics = pa.concat_tables(tables, promote_options="default").to_pandas()
    front = {
        "job": np.repeat([h[0] for h in heads], lengths),
        "config_hash": np.repeat([h[1] for h in heads], lengths),
    }
    for key in param_keys:
        col = _column([h[2].get(key) for h in heads])
        front[key] = col.repeat(lengths).to_numpy()
    front["seed"] = _column([h[3] for h in heads]).repeat(lengths).to_numpy()
    head = pd.DataFrame(front)
    metrics = metrics.drop(columns=[c for c in head.columns if c in metrics.columns])
    return pd.concat([head, metrics], axis=1)


def describe(c: Collected, sweep_dir: str | Path) -> str:
    counts = c.counts()
    text = (f"collected {len(c.runs)} jobs in {sweep_dir}: ok {counts['ok']}, failed {counts['failed']}, "
            f"incomplete {counts['incomplete']}")
    if c.paths:
        names = ", ".join(f"{p.name} ({len(c.runs if k == 'runs' else c.daily):,} rows)" for k, p in c.paths.items())
        text += f"\ntables: {names} in {next(iter(c.paths.values())).parent}/"
    if counts["failed"]:
        first = c.runs[c.runs["status"] == "failed"].iloc[0]
        text += f"\nfirst failure: {first['job']}: {first['error']}"
    if counts["incomplete"] or counts["failed"]:
        text += "\nrun the same sweep again (same sweep_name) to run the failed and incomplete jobs"
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.collect",
                                     description="Collect a sweep folder into runs.parquet and daily.parquet.")
    parser.add_argument("sweep_dir", help="the sweep folder (e.g. results/sweeps/NAME)")
    parser.add_argument("--out", help="write the tables here (default: the sweep folder)")
    parser.add_argument("--no-daily", action="store_true", help="skip daily.parquet")
    args = parser.parse_args(argv)
    try:
        c = collect(args.sweep_dir, args.out, daily=not args.no_daily)
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(describe(c, args.sweep_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
