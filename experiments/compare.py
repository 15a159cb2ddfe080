"""Compare named scenarios over many seeds: ``python -m experiments.compare``.

Usage::

    python -m experiments.compare 'scenarios=[default,referral_team_launch]' seeds=20
    python -m experiments.compare 'scenarios=[a,b,c]' seeds=20 population.size=5000 days=90 jobs=2
    python -m experiments.compare 'scenarios=[a,b]' 'seeds=[3,7,11]' out=results/my_compare
    python -m experiments.compare 'scenarios=[a,b]' seeds=10 market_seed=4   # one market, 10 dynamics

Own keys: ``scenarios`` (options of the Hydra group ``scenario``; a name may
repeat: the copy is labelled ``name#2``), ``seeds`` (a count N: seeds ``seed``
… ``seed``+N−1, ``seed`` default 0; or a list), ``jobs`` (worker processes,
default the cores), ``out`` (default ``results/compare/<time>/``), ``level``
(interval level, default 0.95), ``progress``, ``baseline`` (default true: a
scenario with a campaign also runs its baseline, for CAC / ROI) and ``preset``
(a YAML of overrides for every scenario; the command line wins). Every other
argument is a Hydra override of every scenario (``population.size=5000 days=90``;
``market_seed=K`` holds one market while the seeds vary the dynamics).

Each (scenario, seed) is one :class:`experiments.batch.Job` in ``out/runs/<label>-seed<s>/``,
run by :func:`experiments.batch.run_many` (parallel, resumable: the same command
with the same ``out`` runs only what is missing). Writes ``runs.csv``,
``summary.csv``, ``pairs.csv`` and ``report.html`` into ``out``. Exit codes: 2 bad
input (one line, before any folder is made), 1 a run failed. ``docs/compare.md``.
"""

from __future__ import annotations

import functools
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from experiments.cli import UsageError, claim_folder, command, new_folder, remove_folder
from experiments.formatting import FESTIVAL, HEADLINE, HEADLINE_KEYS, seed_range, with_half_width
from experiments.stats import mean_interval, paired_difference
from sim.config import SimConfig
from sim.errors import ConfigError, check_at_least

#: The command's own keys (every other argument is a Hydra override of every scenario).
OWN_KEYS = ("scenarios", "seeds", "seed", "jobs", "out", "level", "progress", "baseline", "preset")
#: Simulation keys that compare sets itself, and what to use instead.
SET_BY_COMPARE = {"scenario": "use scenarios=[...] to choose the scenarios", "seed": "use seed=FIRST or seeds=[...]"}
#: Numeric columns of a run that describe it rather than measure it: not in summary.csv.
NOT_KPIS = ("seed", "market_seed", "days", "population", "mean_degree", "wall_seconds")
#: The first columns of runs.csv.
RUN_COLUMNS = ("scenario", "scenario_name", "seed", "job", "status", "error")
RESULTS = Path("results/compare")
USAGE = ("usage: python -m experiments.compare scenarios=[a,b,...] [seeds=N|[s1,s2,...]] [seed=FIRST] [jobs=N] "
         "[out=DIR] [level=0.95] [progress=true] [baseline=true] [preset=FILE] [market_seed=K] [overrides ...]")


@dataclass
class Settings:
    """The own keys, type-checked by OmegaConf (``sim.build.structured``)."""

    scenarios: list[str] = field(default_factory=list)
    seeds: Any = 20  # a count, or a list of seeds
    seed: int = 0  # the first seed of a count
    jobs: int | None = None  # worker processes (default: the cores)
    out: str | None = None
    level: float = 0.95
    progress: bool = True
    baseline: bool = True
    preset: str | None = None


class RunFailed(RuntimeError):
    """A run of the compare failed; ``folder`` keeps the runs and ``runs.csv`` (run again with ``out=folder``)."""

    def __init__(self, message: str, folder: Path):
        super().__init__(message)
        self.folder = folder


@dataclass
class Plan:
    """What to run: one validated config per scenario label, and the seeds."""

    labels: list[str]  # unique labels, in the order given
    names: dict[str, str]  # label -> scenario option
    seeds: list[int]
    overrides: list[str]
    configs: dict[str, SimConfig]  # label -> config (its seed is replaced per run)
    level: float = 0.95
    baseline: bool = True

    def jobs(self) -> list:
        """One :class:`~experiments.batch.Job` per scenario and seed, named ``<label>-seed<s>``."""
        from experiments.batch import Job

        return [Job(f"{label}-seed{s}", self.configs[label].replace(seed=s), self.baseline,
                    params={"scenario": label, "scenario_name": self.names[label], "seed": s},
                    overrides=[f"scenario={self.names[label]}", *self.overrides, f"seed={s}"])
                for label in self.labels for s in self.seeds]


def check_settings(**given) -> Settings:
    """The own keys, type- and range-checked; ConfigError in one line."""
    from sim.build import structured

    if isinstance(given.get("scenarios"), str):
        given["scenarios"] = [given["scenarios"]]
    settings = structured(Settings, given)
    if not settings.scenarios:
        raise ConfigError("scenarios", given.get("scenarios"), "must be a non-empty list of scenario names")
    check_at_least("seed", settings.seed, 0)
    if settings.jobs is not None:
        check_at_least("jobs", settings.jobs, 1)
    if not 0 < settings.level < 1:
        raise ConfigError("level", given["level"], "must be a number in (0, 1), e.g. 0.95")
    seeds = settings.seeds
    if isinstance(seeds, (list, tuple)) and seeds:
        for s in seeds:
            check_at_least("seeds", s, 0)
        if len(set(seeds)) < len(seeds):
            raise ConfigError("seeds", list(seeds), "must not repeat a seed")
        settings.seeds = list(seeds)
    elif isinstance(seeds, int) and not isinstance(seeds, bool) and seeds >= 1:
        settings.seeds = list(range(settings.seed, settings.seed + seeds))
    else:
        raise ConfigError("seeds", seeds, "must be a count >= 1 or a non-empty list of seeds")
    return settings


def labels_of(names: list[str]) -> list[str]:
    """Unique labels: a repeated name becomes ``name#2``, ``name#3``..."""
    return [name if names[:i].count(name) == 0 else f"{name}#{names[:i].count(name) + 1}"
            for i, name in enumerate(names)]


def make_plan(settings: Settings, overrides: list[str] | tuple = ()) -> Plan:
    """Compose every scenario once (``batch.compose_many``, the preset first); ConfigError in one line."""
    from experiments.batch import compose_many

    overrides = [str(o) for o in overrides]
    for o in overrides:
        key, _, value = o.partition("=")
        if key.lstrip("+~") in SET_BY_COMPARE or key.startswith(("hydra.", "hydra/")):
            raise ConfigError(key, value, SET_BY_COMPARE.get(key.lstrip("+~"), "hydra.* does not apply to compare"))
    names = list(dict.fromkeys(settings.scenarios))
    try:
        composed = compose_many([[f"scenario={name}", *overrides] for name in names], settings.preset)
    except ConfigError as err:
        if err.key == "scenario":
            raise ConfigError("scenarios", err.value, err.allowed) from None
        raise
    labels = labels_of(settings.scenarios)
    return Plan(labels, dict(zip(labels, settings.scenarios)), settings.seeds, overrides,
                {label: composed[names.index(name)].config for label, name in zip(labels, settings.scenarios)},
                settings.level, settings.baseline)


# ---------------------------------------------------------------------------- the comparison
@dataclass
class Comparison:
    """The tables of a compare (``runs``, ``summary``, ``pairs``: the CSV files) and the
    long tables the report plots (``daily``, ``retention``, ``cohorts``: one row per run
    and day, with ``scenario`` and ``seed``)."""

    plan: Plan
    runs: pd.DataFrame
    summary: pd.DataFrame  # scenario, kpi, mean, low, high, n
    pairs: pd.DataFrame  # scenario_a, scenario_b, kpi, ... (b − a)
    daily: pd.DataFrame
    retention: pd.DataFrame  # scenario, seed, day_since, retention, cohort_customers
    cohorts: pd.DataFrame  # scenario, seed, cohort_day, day_since, active, cohort_size
    folder: Path
    elapsed: float = 0.0  # seconds
    workers: int = 1
    ran: int = 0  # runs simulated now (the others were found finished in the folder)
    notes: list[str] = field(default_factory=list)
    paths: dict[str, Path] = field(default_factory=dict)

    @property
    def labels(self) -> list[str]:
        return self.plan.labels

    @property
    def level(self) -> float:
        return self.plan.level

    @functools.cached_property
    def by_kpi(self) -> pd.DataFrame:
        return self.summary.set_index(["scenario", "kpi"])

    def kpi(self, label: str, key: str) -> tuple[float, float | None, float | None, int] | None:
        """``(mean, low, high, n)`` of a KPI over the seeds (``low``/``high`` None with one), or None."""
        if (label, key) not in self.by_kpi.index or pd.isna(self.by_kpi.at[(label, key), "mean"]):
            return None
        row = self.by_kpi.loc[(label, key)]
        return (float(row["mean"]), *(None if pd.isna(row[k]) else float(row[k]) for k in ("low", "high")),
                int(row["n"]))


def interval_columns(iv) -> dict:
    return {"mean": iv.mean, "low": iv.low, "high": iv.high, "n": iv.n} if iv else \
        {"mean": None, "low": None, "high": None, "n": 0}


def summarise(runs: pd.DataFrame, labels: list[str], kpis: list[str], level: float = 0.95) -> pd.DataFrame:
    """Per scenario and KPI: mean, low, high, n (t-interval over the seeds; missing values dropped)."""
    rows = [{"scenario": label, "kpi": key,
             **interval_columns(mean_interval(runs.loc[runs["scenario"] == label, key], level))}
            for label in labels for key in kpis]
    return pd.DataFrame(rows, columns=["scenario", "kpi", "mean", "low", "high", "n"])


def pairwise(runs: pd.DataFrame, labels: list[str], kpis: list[str], level: float = 0.95) -> pd.DataFrame:
    """For each pair (a before b in ``labels``) and KPI: the paired difference b − a over the seeds of both."""
    by_label = {label: runs[runs["scenario"] == label].set_index("seed")[kpis] for label in labels}
    rows = []
    for i, a in enumerate(labels):
        for b in labels[i + 1:]:
            both_a, both_b = by_label[a].align(by_label[b], join="inner", axis=0)  # the seeds of both
            for key in kpis:
                va, vb = both_a[key], both_b[key]
                d = paired_difference(va, vb, level)
                rows.append({"scenario_a": a, "scenario_b": b, "kpi": key, "mean_a": va.mean(), "mean_b": vb.mean(),
                             **{f"diff_{k}": v for k, v in interval_columns(d).items() if k != "n"},
                             "n": d.n if d else 0, "distinguishable": bool(d and d.distinguishable)})
    return pd.DataFrame(rows, columns=["scenario_a", "scenario_b", "kpi", "mean_a", "mean_b", "diff_mean",
                                       "diff_low", "diff_high", "n", "distinguishable"])


def stacked(batch, file: str) -> pd.DataFrame:
    """A file of every ok run (``retention.parquet``...), stacked, with ``scenario`` and ``seed`` in front."""
    frames = batch.frames(file)
    if not frames:
        return pd.DataFrame(columns=["scenario", "seed"])
    long = pd.concat(frames, names=["job", "row"]).reset_index("job")
    return batch.runs[["job", "scenario", "seed"]].merge(long, on="job").drop(columns="job")


def analyse(plan: Plan, batch, elapsed: float = 0.0, workers: int = 1) -> Comparison:
    """The tables of a finished :class:`~experiments.batch.Batch` of the plan's jobs."""
    runs = batch.runs.drop(columns=["scenario_kpi"], errors="ignore")
    runs = runs.reindex(columns=[*RUN_COLUMNS, *(c for c in runs.columns if c not in RUN_COLUMNS),
                                 *(k for k in HEADLINE_KEYS if k not in runs.columns)])
    numeric = [k for k in [*HEADLINE_KEYS, *batch.kpis] if k in runs.columns and k not in NOT_KPIS
               and (pd.api.types.is_numeric_dtype(runs[k]) or runs[k].isna().all())]
    kpis = list(dict.fromkeys(numeric))
    runs[kpis] = runs[kpis].astype(float)
    comparison = Comparison(plan, runs, summarise(runs, plan.labels, kpis, plan.level),
                            pairwise(runs, plan.labels, kpis, plan.level), batch.daily,
                            stacked(batch, "retention.parquet"), stacked(batch, "cohorts.parquet"), batch.folder.parent,
                            elapsed, workers, batch.ran)
    comparison.notes = notes(comparison)
    return comparison


def notes(c: Comparison) -> list[str]:
    """Warnings for the reader: unequal horizons or populations, a single seed."""
    out = []
    for key, what, option in (("days", "horizons", "days"), ("population", "population sizes", "population.size")):
        values = c.runs.groupby("scenario", sort=False)[key].unique()
        if values.map(lambda v: tuple(sorted(v))).nunique() > 1:
            listed = ", ".join(f"{label} {'/'.join(map(str, sorted(v)))}" for label, v in values.items())
            out.append(f"{what} differ ({listed}): totals are not like for like; pass {option}=N to align them")
    if len(c.plan.seeds) < 2:
        out.append("one seed: no intervals (n/a) and no difference is distinguishable; use seeds >= 2")
    return out


# ---------------------------------------------------------------------------- running
def run_plan(plan: Plan, jobs: int | None = None, out: str | Path | None = None, progress: bool = True) -> Comparison:
    """Run the plan's jobs in ``out/runs/`` (resuming what is there), analyse, write the files.
    ``out`` None: a new folder ``results/compare/<time>/``. Raises :class:`RunFailed`."""
    from experiments.batch import fit_workers, run_many

    workers = min(fit_workers(plan.configs.values(), jobs), len(plan.labels) * len(plan.seeds))
    folder, created = claim_folder(out, finished=lambda _: False) if out is not None else (new_folder(RESULTS), True)
    start = time.perf_counter()
    try:
        batch = run_many(plan.jobs(), folder / "runs", workers=workers, progress=progress, desc="compare")
    except ConfigError:  # refused (e.g. the folder is in use): leave no new folder behind
        if created:
            remove_folder(folder)
        raise
    failed = batch.runs[batch.runs["status"] != "ok"]
    if len(failed):
        batch.runs.to_csv(folder / "runs.csv", index=False)
        raise RunFailed(f"a run failed: {failed['job'].iat[0]}: {failed['error'].iat[0]}", folder)
    comparison = analyse(plan, batch, time.perf_counter() - start, workers)
    write_outputs(comparison)
    return comparison


def write_outputs(c: Comparison) -> dict[str, Path]:
    """runs.csv, summary.csv, pairs.csv, then report.html into the compare's folder."""
    from experiments.html_report import write_html
    from sim.outputs import atomic_write

    for name, frame in (("runs", c.runs), ("summary", c.summary), ("pairs", c.pairs)):
        c.paths[name] = atomic_write(c.folder / f"{name}.csv", lambda tmp, f=frame: f.to_csv(tmp, index=False))
    c.paths["report"] = write_html(c, c.folder / "report.html")
    return c.paths


def compare(scenarios: list[str], seeds: int | list[int] = 20, overrides: list[str] | tuple = (), *,
            seed: int = 0, jobs: int | None = None, out: str | Path | None = None, level: float = 0.95,
            progress: bool = True, baseline: bool = True, preset: str | Path | None = None) -> Comparison:
    """Run every scenario at every seed and compare; the command's function. Raises
    :class:`~sim.errors.ConfigError` on bad input (before any folder is made), :class:`RunFailed`."""
    settings = check_settings(scenarios=scenarios, seeds=seeds, seed=seed, jobs=jobs, level=level,
                              progress=progress, baseline=baseline, preset=None if preset is None else str(preset))
    return run_plan(make_plan(settings, overrides), settings.jobs, out, settings.progress)


# ---------------------------------------------------------------------------- terminal tables
def headline_text(c: Comparison, width: int = 118) -> str:
    """The headline table: KPI rows × scenario columns, ``mean ±half-width``."""
    table = pd.DataFrame({label: [with_half_width(*(c.kpi(label, key) or (None,) * 3)[:3], kind)
                                  for key, _, kind in HEADLINE] for label in c.labels},
                         index=[name for _, name, _ in HEADLINE])
    table.columns.name = "KPI"
    return table.to_string(line_width=width)


def festival_text(c: Comparison, width: int = 118) -> str:
    """A festival's windows against the baseline (pre-peak dip, peak, hangover, net GMV), for
    the scenarios that have one; empty if none has."""
    labels = [label for label in c.labels if c.kpi(label, "festival_peak_gmv_ratio")]
    if not labels:
        return ""
    table = pd.DataFrame({label: [with_half_width(*(c.kpi(label, key) or (None,) * 3)[:3], kind)
                                  for key, _, kind in FESTIVAL] for label in labels},
                         index=[name for _, name, _ in FESTIVAL])
    table.columns.name = "festival"
    return table.to_string(line_width=width)


def pairs_text(c: Comparison, width: int = 118) -> str:
    """Paired differences b − a (``mean ±half-width``, ``*`` = the interval excludes 0); with
    more than three scenarios, each against the first."""
    pairs = c.pairs.set_index(["scenario_a", "scenario_b", "kpi"])
    shown = [(a, b) for i, a in enumerate(c.labels) for b in c.labels[i + 1:] if len(c.labels) <= 3 or i == 0]
    if not shown:
        return ""
    table = pd.DataFrame({f"{b} − {a}": [
        with_half_width(*pairs.loc[(a, b, key), ["diff_mean", "diff_low", "diff_high"]], kind, sign=True)
        + (" *" if pairs.at[(a, b, key), "distinguishable"] else "  ") for key, _, kind in HEADLINE]
        for a, b in shown}, index=[name for _, name, _ in HEADLINE])
    table.columns.name = "KPI"
    return table.to_string(line_width=width)


# ---------------------------------------------------------------------------- command line
def parse_args(argv: list[str]) -> tuple[dict, list[str]]:
    """(own keys, typed by Hydra's override grammar; the other arguments, as overrides)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    parser = OverridesParser.create()
    own, overrides = {}, []
    for arg in argv:
        key, _, value = arg.partition("=")
        if key not in OWN_KEYS:
            overrides.append(arg)
            continue
        try:
            parsed = parser.parse_override(arg)  # a sweep (a,b or range(5)) is its list of values
            own[key] = list(parsed.sweep_iterator()) if parsed.is_sweep_override() else parsed.value()
        except HydraException as err:
            raise ConfigError(key, value, "cannot parse the value (" + str(err).strip().splitlines()[0] + ")") from None
    if "scenarios" not in own:
        raise UsageError("experiments.compare", "scenarios=[a,b,...] is required; see --help")
    return own, overrides


def run_command(argv: list[str]) -> int:
    """The command: validate, compose, run, print the tables; exit code 0, or 1 if a run failed."""
    own, overrides = parse_args(argv)
    settings = check_settings(**own)
    plan = make_plan(settings, overrides)
    first, n_runs = plan.configs[plan.labels[0]], len(plan.labels) * len(plan.seeds)
    print(f"compare: {len(plan.labels)} scenario(s) x {len(plan.seeds)} seed(s) ({seed_range(plan.seeds)}) = {n_runs} "
          f"runs; {first.population.size:,} consumers x {first.days} days"
          + (f"; overrides: {' '.join(overrides)}" if overrides else ""), flush=True)
    try:
        c = run_plan(plan, settings.jobs, settings.out, settings.progress)
    except RunFailed as err:
        print(f"runs: {err.folder}/runs/ and runs.csv; out={err.folder} runs the failed ones again")
        print(f"error: {err}", file=sys.stderr)
        return 1
    level = f"{plan.level:.0%}"
    print(f"\nHeadline (mean ±half-width of the {level} t-interval over {len(plan.seeds)} seeds)\n{headline_text(c)}")
    if text := festival_text(c):
        print(f"\nFestival windows against each run's baseline (mean ±half-width)\n{text}")
    if text := pairs_text(c):
        scope = "" if len(plan.labels) <= 3 else f"; against {plan.labels[0]} here, every pair in the report"
        print(f"\nPaired differences (b − a per seed; * = {level} interval excludes 0{scope})\n{text}")
    for note in c.notes:
        print(f"note: {note}")
    print(f"\n{n_runs} runs ({c.ran} run now, {n_runs - c.ran} found finished) in {c.elapsed:.1f} s "
          f"on {c.workers} process{'es' if c.workers > 1 else ''}")
    print(f"tables: {c.folder}/ (summary.csv, pairs.csv, runs.csv; each run in runs/)\nreport: {c.paths['report']}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; exit code 0 ok, 1 a run failed, 2 bad input, 130 interrupted."""
    return command(run_command, argv, usage=USAGE)


if __name__ == "__main__":
    sys.exit(main())
