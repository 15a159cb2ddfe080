"""Compare named scenarios over many seeds: ``python -m experiments.compare``.

Usage::

    python -m experiments.compare scenarios=[default,referral_team_launch] seeds=20
    python -m experiments.compare scenarios=[a,b,c] seeds=20 population.size=5000 days=90 jobs=4
    python -m experiments.compare scenarios=[a,b] seeds=[3,7,11] out=results/my_compare

Own keys: ``scenarios`` (options of the Hydra group ``scenario``, a list; a name
may repeat: the copy is labelled ``name#2``), ``seeds`` (a count N: seeds
``seed`` … ``seed``+N−1, with ``seed`` default 0; or an explicit list),
``jobs`` (worker processes, default the machine's cores), ``out`` (output
folder, default ``results/compare/<timestamp>/``), ``level`` (interval level,
default 0.95), ``progress`` (default true) and ``baseline`` (default true: a
scenario with a campaign also runs its baseline, for CAC / ROI). Every other
argument is a Hydra override of ``experiments.run`` and applies to every
scenario (``population.size=5000 days=90 network=watts_strogatz``).

Every scenario runs with the same seeds (common random numbers: seed s is the
same market in every scenario), each run in a worker process through
``sim.evaluation.evaluate``. Writes ``report.html`` (self-contained),
``summary.csv``, ``pairs.csv`` and ``runs.csv`` into the output folder, prints
the headline table and the report's path. Bad input stops before any run with
one ``error: ...`` line and exit code 2. Statistics: ``experiments/stats.py``;
the whole story: ``docs/compare.md``.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import os
import re
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.stats import mean_interval, paired_difference
from sim.config import SimConfig
from sim.errors import ConfigError
from sim.outputs import flatten

#: The headline KPIs: (summary key, label, format kind).
HEADLINE: tuple[tuple[str, str, str], ...] = (
    ("gmv", "GMV", "money"),
    ("customers", "customers", "count"),
    ("retention_d1", "D1 retention", "pct"),
    ("retention_d7", "D7 retention", "pct"),
    ("retention_d30", "D30 retention", "pct"),
    ("cac", "CAC", "money2"),
    ("roi", "ROI", "ratio"),
    ("k_factor", "K-factor", "ratio3"),
    ("team_completion_rate", "team completion", "pct"),
    ("campaign_cost_total", "campaign cost", "money"),
)
HEADLINE_KEYS = tuple(k for k, _, _ in HEADLINE)

#: Per-run columns of runs.csv that describe the run rather than measure it.
META_COLUMNS = ("scenario", "scenario_name", "seed", "law", "network", "campaigns", "days",
                "population", "mean_degree", "wall_seconds")

#: The command's own keys (everything else is a Hydra override of every scenario).
OWN_KEYS = ("scenarios", "seeds", "seed", "jobs", "out", "level", "progress", "baseline")

USAGE = ("usage: python -m experiments.compare scenarios=[a,b,...] [seeds=N|[s1,s2,...]] [seed=FIRST] "
         "[jobs=N] [out=DIR] [level=0.95] [progress=true] [baseline=true] [hydra overrides ...]")


# ---------------------------------------------------------------------------- the plan
@dataclass
class Plan:
    """What to run: every (scenario, seed) config, validated."""

    labels: list[str]                       # unique labels, in the order given
    names: dict[str, str]                   # label -> scenario option
    seeds: list[int]
    overrides: list[str]
    configs: dict[str, dict[int, SimConfig]]
    level: float = 0.95
    baseline: bool = True

    @property
    def n_runs(self) -> int:
        return len(self.labels) * len(self.seeds)

    def description(self, label: str) -> str:
        return self.configs[label][self.seeds[0]].scenario.description


def _labels(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return out


def _hydra_error(err: Exception, overrides: list[str]) -> ConfigError:
    """One-line ConfigError from a Hydra composition error."""
    from hydra.core.global_hydra import GlobalHydra

    text = str(err)
    missing = re.search(r"Could not find '([^'/]+)/([^']+)'", text)
    if missing:
        group, option = missing.groups()
        try:
            known = GlobalHydra.instance().config_loader().get_group_options(group)
        except Exception:  # pragma: no cover - the loader is there while composing
            known = []
        return ConfigError(group, option, f"unknown option; known: {', '.join(known) or 'none'}")
    key = re.search(r"Could not (?:override|append to|delete from) '([^']+)'", text)
    if key:
        value = next((o.split("=", 1)[1] for o in overrides
                      if o.split("=", 1)[0].lstrip("+~") == key.group(1) and "=" in o), "")
        return ConfigError(key.group(1), value, "no such key (the keys are in docs/model.md)")
    first = next((line.strip() for line in text.splitlines() if line.strip()), type(err).__name__)
    return ConfigError("overrides", " ".join(overrides), first)


def _check_int(key: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(key, value, f"must be an integer >= {minimum}")
    return value


def make_plan(scenarios: list[str], seeds: int | list[int] = 20, overrides: list[str] | tuple = (),
              *, seed: int = 0, level: float = 0.95, baseline: bool = True) -> Plan:
    """Validate everything and build each (scenario, seed) config; raises ConfigError."""
    from hydra import compose, initialize_config_module
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException

    from experiments.run import to_sim_config

    if isinstance(scenarios, str):
        scenarios = [scenarios]
    if not scenarios or not all(isinstance(s, str) and s for s in scenarios):
        raise ConfigError("scenarios", scenarios, "must be a non-empty list of scenario names, "
                                                  "e.g. scenarios=[default,referral_team_launch]")
    seed = _check_int("seed", seed, 0)
    if isinstance(seeds, (list, tuple)):
        if not seeds:
            raise ConfigError("seeds", list(seeds), "must be a count >= 1 or a non-empty list of seeds")
        seed_list = [_check_int("seeds", s, 0) for s in seeds]
        if len(set(seed_list)) != len(seed_list):
            raise ConfigError("seeds", list(seeds), "must not repeat a seed")
    else:
        if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
            raise ConfigError("seeds", seeds, "must be a count >= 1 or a non-empty list of seeds")
        seed_list = list(range(seed, seed + seeds))
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 1:
        raise ConfigError("level", level, "must be a number in (0, 1), e.g. 0.95")
    overrides = [str(o) for o in overrides]
    for o in overrides:
        key = o.split("=", 1)[0].lstrip("+~")
        if key == "scenario":
            raise ConfigError("scenario", o.split("=", 1)[-1], "use scenarios=[...] to choose the scenarios")
        if key.startswith("hydra.") or key == "hydra":
            raise ConfigError(key, o.split("=", 1)[-1], "hydra.* settings do not apply to compare (use out=DIR)")

    labels = _labels(list(scenarios))
    configs: dict[str, dict[int, SimConfig]] = {}
    with initialize_config_module(config_module="conf", version_base="1.3"):
        known = GlobalHydra.instance().config_loader().get_group_options("scenario")
        for name in scenarios:
            if name not in known:
                raise ConfigError("scenarios", name, f"unknown scenario; known: {', '.join(known)}")
        composed: dict[str, SimConfig] = {}
        for label, name in zip(labels, scenarios):
            if name not in composed:
                try:
                    cfg = compose(config_name="config",
                                  overrides=[f"scenario={name}", *overrides, f"seed={seed_list[0]}"])
                except HydraException as err:
                    raise _hydra_error(err, overrides) from None
                composed[name] = to_sim_config(cfg)
            # The seed is a plain top-level value (nothing in conf/ interpolates it): composing
            # once per scenario and replacing the seed gives the config compose(seed=s) would.
            configs[label] = {s: composed[name] if s == seed_list[0] else composed[name].replace(seed=s)
                              for s in seed_list}
    return Plan(labels, dict(zip(labels, scenarios)), seed_list, overrides, configs, float(level), bool(baseline))


# ---------------------------------------------------------------------------- one run (in a worker)
@dataclass
class RunResult:
    """What one (scenario, seed) run sends back: small frames and arrays."""

    label: str
    seed: int
    summary: dict                 # flat: scalars only (see flatten)
    daily: pd.DataFrame           # metrics.frame()
    retention: np.ndarray         # retention by day since first purchase (NaN where unobservable)
    cohort_active: np.ndarray     # [cohort_day, day_since] active consumers
    cohort_size: np.ndarray       # [cohort_day] consumers first buying that day


def run_one(label: str, seed: int, config: SimConfig, with_baseline: bool = True) -> RunResult:
    """Simulate one scenario at one seed (and its baseline if it has a campaign)."""
    from sim.evaluation import evaluate

    logging.getLogger("MESA").setLevel(logging.WARNING)
    start = time.perf_counter()
    ev = evaluate(config, progress=False, with_baseline=with_baseline)
    model = ev.model
    summary = ev.summary()
    consumers = model.consumers
    summary["repeat_customers"] = int((np.asarray(consumers.n_orders) >= 2).sum())
    summary["active_customers_at_end"] = int(summary["customers"]) - int(summary.get("churned") or 0)
    summary["wall_seconds"] = round(time.perf_counter() - start, 3)
    daily = model.metrics.frame()
    days = int(summary["days"])
    curve = model.metrics.cohorts.curve()
    retention = np.full(days, np.nan)
    retention[curve["day_since"].to_numpy()] = curve["retention"].to_numpy()
    cf = model.metrics.cohorts.frame()
    active = np.zeros((days + 1, days + 1), dtype=np.int64)
    active[cf["cohort_day"].to_numpy(), cf["day_since"].to_numpy()] = cf["active"].to_numpy()
    size = np.zeros(days + 1, dtype=np.int64)
    size[daily["day"].to_numpy()] = daily["new_customers"].to_numpy()
    sizes_seen = cf.drop_duplicates("cohort_day")
    size[sizes_seen["cohort_day"].to_numpy()] = sizes_seen["cohort_size"].to_numpy()
    return RunResult(label, seed, flatten(summary), daily, retention, active, size)


def _run_job(args) -> RunResult:
    return run_one(*args)


# ---------------------------------------------------------------------------- the comparison
@dataclass
class Comparison:
    """Everything the report needs; built by :func:`analyse` from the runs."""

    plan: Plan
    runs: pd.DataFrame                      # one row per scenario x seed
    summary: pd.DataFrame                   # scenario, kpi, mean, low, high, n
    pairs: pd.DataFrame                     # scenario_a, scenario_b, kpi, ... (b - a)
    daily: dict[str, list[pd.DataFrame]]    # label -> per-seed daily frames (plan seed order)
    retention: dict[str, np.ndarray]        # label -> seeds x day_since
    cohort_active: dict[str, np.ndarray]    # label -> pooled over seeds
    cohort_size: dict[str, np.ndarray]
    elapsed: float = 0.0
    jobs: int = 1
    notes: list[str] = field(default_factory=list)
    paths: dict[str, Path] = field(default_factory=dict)

    @property
    def labels(self) -> list[str]:
        return self.plan.labels

    @property
    def level(self) -> float:
        return self.plan.level

    def kpi(self, label: str, key: str):
        """The (mean, low, high, n) row of ``summary`` or None."""
        rows = self.summary[(self.summary["scenario"] == label) & (self.summary["kpi"] == key)]
        if rows.empty or pd.isna(rows["mean"].iloc[0]):
            return None
        r = rows.iloc[0]
        return (float(r["mean"]), _none(r["low"]), _none(r["high"]), int(r["n"]))


def _none(value):
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def kpi_columns(runs: pd.DataFrame) -> list[str]:
    """The numeric KPI columns of runs.csv: the headline first, then the rest in order."""
    numeric = [c for c in runs.columns if c not in META_COLUMNS
               and (pd.api.types.is_numeric_dtype(runs[c]) or runs[c].isna().all())]
    return [k for k in HEADLINE_KEYS if k in numeric] + [c for c in numeric if c not in HEADLINE_KEYS]


def summarise(runs: pd.DataFrame, labels: list[str], kpis: list[str], level: float = 0.95) -> pd.DataFrame:
    """Per scenario x KPI: mean, low, high, n (t-interval over seeds; missing values dropped)."""
    rows = []
    for label in labels:
        sub = runs[runs["scenario"] == label]
        for key in kpis:
            values = sub[key].tolist() if key in sub else []
            iv = mean_interval(values, level)
            rows.append({"scenario": label, "kpi": key,
                         "mean": iv.mean if iv else None, "low": iv.low if iv else None,
                         "high": iv.high if iv else None, "n": iv.n if iv else 0})
    return pd.DataFrame(rows, columns=["scenario", "kpi", "mean", "low", "high", "n"])


def pairwise(runs: pd.DataFrame, labels: list[str], kpis: list[str], level: float = 0.95) -> pd.DataFrame:
    """For each pair (a before b in ``labels``) and KPI: the paired difference b − a over seeds."""
    cols = ["scenario_a", "scenario_b", "kpi", "mean_a", "mean_b", "diff_mean", "diff_low", "diff_high",
            "n", "distinguishable"]
    rows = []
    by_label = {label: runs[runs["scenario"] == label].set_index("seed") for label in labels}
    for i, a in enumerate(labels):
        for b in labels[i + 1:]:
            seeds = sorted(set(by_label[a].index) & set(by_label[b].index))
            for key in kpis:
                va = by_label[a][key].reindex(seeds) if key in by_label[a] else pd.Series(np.nan, index=seeds)
                vb = by_label[b][key].reindex(seeds) if key in by_label[b] else pd.Series(np.nan, index=seeds)
                ma, mb = mean_interval(va.tolist(), level), mean_interval(vb.tolist(), level)
                d = paired_difference(va.tolist(), vb.tolist(), level)
                rows.append({"scenario_a": a, "scenario_b": b, "kpi": key,
                             "mean_a": ma.mean if ma else None, "mean_b": mb.mean if mb else None,
                             "diff_mean": d.mean if d else None, "diff_low": d.low if d else None,
                             "diff_high": d.high if d else None, "n": d.n if d else 0,
                             "distinguishable": bool(d.distinguishable) if d else False})
    return pd.DataFrame(rows, columns=cols)


def analyse(plan: Plan, results: list[RunResult], elapsed: float = 0.0, jobs: int = 1) -> Comparison:
    """Tables and pooled series from the runs (any order)."""
    order = {label: i for i, label in enumerate(plan.labels)}
    seed_pos = {s: i for i, s in enumerate(plan.seeds)}
    results = sorted(results, key=lambda r: (order[r.label], seed_pos[r.seed]))
    records = []
    for r in results:
        rec = {"scenario": r.label, "scenario_name": plan.names[r.label], "seed": r.seed}
        rec.update({k: v for k, v in r.summary.items() if k not in ("scenario", "seed")})
        records.append(rec)
    runs = pd.DataFrame.from_records(records)
    meta = [c for c in META_COLUMNS if c in runs.columns]
    runs = runs[meta + [c for c in runs.columns if c not in meta]]
    for c in runs.columns:
        if c not in META_COLUMNS and runs[c].dtype == object:
            converted = pd.to_numeric(runs[c], errors="coerce")
            if converted.notna().sum() == runs[c].notna().sum():
                runs[c] = converted.astype(float)
    kpis = kpi_columns(runs)
    summary = summarise(runs, plan.labels, kpis, plan.level)
    pairs = pairwise(runs, plan.labels, kpis, plan.level)

    daily: dict[str, list[pd.DataFrame]] = {label: [] for label in plan.labels}
    retention: dict[str, list[np.ndarray]] = {label: [] for label in plan.labels}
    active: dict[str, np.ndarray] = {}
    size: dict[str, np.ndarray] = {}
    for r in results:
        daily[r.label].append(r.daily)
        retention[r.label].append(r.retention)
        if r.label in active and active[r.label].shape == r.cohort_active.shape:
            active[r.label] = active[r.label] + r.cohort_active
            size[r.label] = size[r.label] + r.cohort_size
        elif r.label not in active:
            active[r.label], size[r.label] = r.cohort_active.copy(), r.cohort_size.copy()
    comparison = Comparison(
        plan, runs, summary, pairs, daily,
        {label: np.vstack(v) if v else np.zeros((0, 0)) for label, v in retention.items()},
        active, size, elapsed=elapsed, jobs=jobs)
    comparison.notes = _notes(comparison)
    return comparison


def _notes(c: Comparison) -> list[str]:
    notes = []
    for key, what in (("days", "horizons"), ("population", "population sizes")):
        if key in c.runs:
            values = {label: sorted(set(c.runs.loc[c.runs["scenario"] == label, key])) for label in c.labels}
            if len({tuple(v) for v in values.values()}) > 1:
                listed = ", ".join(f"{label} {'/'.join(map(str, v))}" for label, v in values.items())
                notes.append(f"{what} differ ({listed}): totals are not like for like; "
                             f"pass {key if key == 'days' else 'population.size'}=N to align them")
    if len(c.plan.seeds) < 2:
        notes.append("one seed: no intervals (n/a) and no difference is distinguishable; use seeds >= 2")
    return notes


# ---------------------------------------------------------------------------- running
def _cores() -> int:
    """CPUs this process may use (``os.process_cpu_count`` where it exists, Python >= 3.13)."""
    return (getattr(os, "process_cpu_count", None) or os.cpu_count)() or 1


def _mp_context():
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def execute(plan: Plan, jobs: int | None = None, progress: bool = True) -> tuple[list[RunResult], int]:
    """Run every (scenario, seed) of the plan; ``jobs`` worker processes (1: in this process)."""
    from tqdm.auto import tqdm

    tasks = [(label, s, plan.configs[label][s], plan.baseline) for s in plan.seeds for label in plan.labels]
    jobs = max(1, min(jobs or _cores(), len(tasks)))
    results: list[RunResult] = []
    bar = tqdm(total=len(tasks), desc="compare", unit="run", disable=not progress, file=sys.stderr,
               dynamic_ncols=True)
    try:
        if jobs == 1:
            for task in tasks:
                results.append(_run_job(task))
                bar.update()
        else:
            with ProcessPoolExecutor(max_workers=jobs, mp_context=_mp_context()) as pool:
                pending = {pool.submit(_run_job, task) for task in tasks}
                try:
                    while pending:
                        done, pending = wait(pending, return_when=FIRST_COMPLETED)
                        for fut in done:
                            results.append(fut.result())  # re-raises a worker's error
                            bar.update(1)
                except BaseException:
                    for fut in pending:
                        fut.cancel()
                    raise
    finally:
        bar.close()
    return results, jobs


def default_out_dir(root: str | Path = "results/compare") -> Path:
    base = Path(root) / datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    out, k = base, 1
    while out.exists():
        k += 1
        out = base.with_name(f"{base.name}_{k}")
    return out


def write_outputs(c: Comparison, out_dir: str | Path) -> dict[str, Path]:
    """runs.csv, summary.csv, pairs.csv, then report.html (last: its presence marks a finished compare)."""
    from experiments.html_report import write_html
    from sim.outputs import atomic_write

    out = Path(out_dir)

    def csv(frame: pd.DataFrame, name: str) -> Path:
        return atomic_write(out / name, lambda tmp: frame.to_csv(tmp, index=False))

    paths = {"runs": csv(c.runs, "runs.csv"), "summary": csv(c.summary, "summary.csv"),
             "pairs": csv(c.pairs, "pairs.csv")}
    paths["report"] = write_html(c, out / "report.html")
    c.paths = paths
    return paths


def compare(scenarios: list[str], seeds: int | list[int] = 20, overrides: list[str] | tuple = (), *,
            seed: int = 0, jobs: int | None = None, out: str | Path | None = None, level: float = 0.95,
            progress: bool = True, baseline: bool = True, write: bool = True) -> Comparison:
    """Validate, run every scenario at every seed, analyse, and (``write``) write the outputs.

    Raises :class:`~sim.errors.ConfigError` on bad input before running anything.
    """
    plan = make_plan(scenarios, seeds, overrides, seed=seed, level=level, baseline=baseline)
    if jobs is not None:
        _check_int("jobs", jobs, 1)
    start = time.perf_counter()
    results, used = execute(plan, jobs, progress)
    comparison = analyse(plan, results, elapsed=time.perf_counter() - start, jobs=used)
    if write:
        write_outputs(comparison, Path(out) if out is not None else default_out_dir())
    return comparison


# ---------------------------------------------------------------------------- formatting
def fmt(value, kind: str) -> str:
    """One number for a table; ``n/a`` for None/NaN."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if kind == "money":
        return f"¥{value:,.0f}"
    if kind == "money2":
        return f"¥{value:,.2f}"
    if kind == "count":
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.1f}"
    if kind == "pct":
        return f"{value:.1%}"
    if kind == "ratio3":
        return f"{value:.3f}"
    return f"{value:.2f}"


def fmt_delta(value, kind: str) -> str:
    """A half-width or a difference, without the currency sign doubling as a sign."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if kind == "pct":
        return f"{value * 100:.1f} pp"
    if kind == "money":
        return f"{value:,.0f}"
    if kind == "money2":
        return f"{value:,.2f}"
    if kind == "count":
        return "0" if value == 0 else f"{value:,.0f}" if abs(value) >= 10 else f"{value:,.1f}"
    return fmt(value, kind)


def _cell(iv, kind: str) -> str:
    if iv is None:
        return "n/a"
    mean, low, high, _ = iv
    if low is None:
        return fmt(mean, kind)
    return f"{fmt(mean, kind)} ±{fmt_delta((high - low) / 2, kind)}"


def _table(header: list[str], rows: list[list[str]], max_width: int = 118) -> str:
    """Aligned columns (first left, others right); split into blocks of columns to fit ``max_width``."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    blocks: list[list[int]] = [[]]
    used = widths[0]
    for i in range(1, len(header)):
        if blocks[-1] and used + 2 + widths[i] > max_width:
            blocks.append([])
            used = widths[0]
        blocks[-1].append(i)
        used += 2 + widths[i]
    out = []
    for cols in blocks:
        idx = [0, *cols]
        line = lambda r: "  ".join(r[i].ljust(widths[i]) if i == 0 else r[i].rjust(widths[i]) for i in idx)  # noqa: E731
        out += [line(header), "  ".join("-" * widths[i] for i in idx)] + [line(r) for r in rows]
        out.append("")
    return "\n".join(out[:-1])


def headline_text(c: Comparison) -> str:
    """The headline table (KPI rows x scenario columns, mean ±half-width)."""
    rows = [[label] + [_cell(c.kpi(s, key), kind) for s in c.labels] for key, label, kind in HEADLINE]
    return _table(["KPI"] + c.labels, rows)


def pairs_text(c: Comparison) -> str:
    """Paired differences b − a (mean ±half-width, * = interval excludes 0)."""
    pairs = [(a, b) for i, a in enumerate(c.labels) for b in c.labels[i + 1:]]
    if len(c.labels) > 3:  # the terminal shows each scenario against the first; the report has all pairs
        pairs = [(c.labels[0], b) for b in c.labels[1:]]
    if not pairs:
        return ""
    header = ["KPI"] + [f"{b} − {a}" for a, b in pairs]
    rows = []
    for key, label, kind in HEADLINE:
        row = [label]
        for a, b in pairs:
            sel = c.pairs[(c.pairs["scenario_a"] == a) & (c.pairs["scenario_b"] == b) & (c.pairs["kpi"] == key)]
            if sel.empty or pd.isna(sel["diff_mean"].iloc[0]):
                row.append("n/a")
                continue
            r = sel.iloc[0]
            text = _signed(r["diff_mean"], kind)
            if not pd.isna(r["diff_low"]):
                text += f" ±{fmt_delta((r['diff_high'] - r['diff_low']) / 2, kind)}"
            row.append(text + (" *" if r["distinguishable"] else "  "))
        rows.append(row)
    return _table(header, rows)


def _signed(value: float, kind: str) -> str:
    text = fmt_delta(abs(value), kind)
    return ("−" if value < 0 else "+" if value > 0 else "") + text


# ---------------------------------------------------------------------------- command line
class MissingKey(ConfigError):
    """A required key that was not given: ``<key>: <what is needed>``."""

    def __init__(self, key: str, allowed: str):
        super().__init__(key, None, allowed)
        self.args = (f"{key}: {allowed}",)

    def __str__(self) -> str:
        return self.args[0]


def parse_args(argv: list[str]) -> tuple[dict, list[str]]:
    """(own settings, Hydra overrides) from ``key=value`` arguments; raises ConfigError."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    parser = OverridesParser.create()
    own: dict = {}
    overrides: list[str] = []
    for arg in argv:
        try:
            ov = parser.parse_override(arg)
        except HydraException as err:
            first = next((line for line in str(err).splitlines() if line.strip()), "cannot parse")
            key = arg.split("=", 1)[0]
            raise ConfigError(key, arg.split("=", 1)[-1], f"cannot parse the override ({first})") from None
        key = ov.key_or_group
        if key in OWN_KEYS and not ov.is_add() and not ov.is_delete():
            own[key] = ov.value()
        elif key == "report":
            continue  # experiments.run's per-run report switch: compare always writes its own
        else:
            overrides.append(arg)
    if "scenarios" not in own:
        raise MissingKey("scenarios", "required, e.g. scenarios=[default,referral_team_launch]")
    settings = {"scenarios": own["scenarios"], "seeds": own.get("seeds", 20), "seed": own.get("seed", 0)}
    if isinstance(settings["scenarios"], str):
        settings["scenarios"] = [settings["scenarios"]]
    if "jobs" in own:
        settings["jobs"] = _check_int("jobs", own["jobs"], 1)
    if "out" in own:
        if not isinstance(own["out"], str) or not own["out"]:
            raise ConfigError("out", own["out"], "must be a folder path")
        settings["out"] = own["out"]
    if "level" in own:
        settings["level"] = own["level"]
    for key in ("progress", "baseline"):
        if key in own:
            if not isinstance(own[key], bool):
                raise ConfigError(key, own[key], "must be true or false")
            settings[key] = own[key]
    return settings, overrides


def main(argv: list[str] | None = None) -> int:
    """The command; returns the exit code (0 ok, 2 bad input, 1 a run failed)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if any(a in ("-h", "--help", "help") for a in argv):
        print(USAGE)
        return 0
    try:
        settings, overrides = parse_args(argv)
        plan = make_plan(settings["scenarios"], settings["seeds"], overrides, seed=settings["seed"],
                         level=settings.get("level", 0.95), baseline=settings.get("baseline", True))
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    out_dir = Path(settings["out"]) if "out" in settings else default_out_dir()
    first = plan.configs[plan.labels[0]][plan.seeds[0]]
    jobs = max(1, min(settings.get("jobs") or _cores(), plan.n_runs))
    print(f"compare: {len(plan.labels)} scenarios x {len(plan.seeds)} seeds ({_seed_text(plan.seeds)}) = "
          f"{plan.n_runs} runs on {jobs} process{'es' if jobs > 1 else ''}; "
          f"{first.population.size:,} consumers x {first.days} days"
          + (f"; overrides: {' '.join(overrides)}" if overrides else ""))
    start = time.perf_counter()
    try:
        results, used = execute(plan, jobs, settings.get("progress", True))
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # a bug in a run: say which, keep the traceback short
        print(f"error: a run failed: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    comparison = analyse(plan, results, elapsed=time.perf_counter() - start, jobs=used)
    paths = write_outputs(comparison, out_dir)
    level = f"{plan.level:.0%}"
    print()
    print(f"Headline (mean ±half-width of the {level} t-interval over {len(plan.seeds)} seeds)")
    print(headline_text(comparison))
    text = pairs_text(comparison)
    if text:
        print()
        scope = "" if len(plan.labels) <= 3 else f"; against {plan.labels[0]} here, every pair in the report"
        print(f"Paired differences (b − a per seed; * = {level} interval excludes 0{scope})")
        print(text)
    for note in comparison.notes:
        print(f"note: {note}")
    print()
    print(f"{plan.n_runs} runs in {comparison.elapsed:.1f} s on {used} process{'es' if used > 1 else ''}")
    print(f"tables: {out_dir}/ (summary.csv, pairs.csv, runs.csv)")
    print(f"report: {paths['report']}")
    return 0


def _seed_text(seeds: list[int]) -> str:
    if seeds == list(range(seeds[0], seeds[0] + len(seeds))) and len(seeds) > 2:
        return f"{seeds[0]}–{seeds[-1]}"
    return ", ".join(map(str, seeds))


if __name__ == "__main__":
    sys.exit(main())
