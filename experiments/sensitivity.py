"""Global sensitivity of KPIs to config keys (SALib): ``python -m experiments.sensitivity``.

Usage::

    python -m experiments.sensitivity --method sobol --n 64 --seeds 2 --kpi gmv --kpi customers \\
        --param diffusion.innovation=0.002:0.03 --param diffusion.weak_tie=0.01:0.06 population.size=5000 days=90
    python -m experiments.sensitivity --method morris --n 20 --param ... preset=market.yaml campaign=referral

Options: ``--help``; every other argument is an override of ``experiments.run`` for the
base market (``preset=FILE`` included). Each sample x seed (the same seeds for every
sample: common random numbers) is a job ``sample<i>-seed<s>`` of
:func:`experiments.batch.run_many` in ``<out>/runs/``: parallel, failures recorded per
job, resumable (the same command with the same ``--out`` runs only the jobs not
finished). Writes ``indices.csv``, ``indices.png``, ``samples.csv``, ``runs.csv`` and
``problem.json``. Method and outputs: ``docs/sweeps.md``.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.cli import ArgumentParser, command
from experiments.sweep_plots import pyplot, save_figure, write_csv
from sim.errors import ConfigError, check_at_least, check_choice

DEFAULT_KPIS = ("gmv", "customers", "retention_d30")
RUNS = "runs"  # the jobs' folder inside the output folder
INDICES = {"sobol": ("S1", "S1_conf", "ST", "ST_conf"), "morris": ("mu", "mu_star", "mu_star_conf", "sigma")}


# ---------------------------------------------------------------------------- shared with optimize
@dataclass
class Param:
    """A config key and its range (``KEY=LOW:HIGH[:log]``) or choices (``KEY=a,b,c``)."""

    key: str
    low: float | None = None
    high: float | None = None
    integer: bool = False
    log: bool = False
    choices: list | None = None

    def cast(self, value):
        return value if self.choices is not None else int(round(value)) if self.integer else float(value)

    def ends(self) -> list:
        return list(self.choices) if self.choices is not None else [self.cast(self.low), self.cast(self.high)]


def parse_param(text: str, allow_choices: bool = False) -> Param:
    """``diffusion.weak_tie=0.01:0.06``, ``population.kols.count=5:40``, ``x=1:100:log``,
    (``allow_choices``) ``campaign.referral.reward_form=cash,coupon``."""
    import yaml

    key, sep, spec = (s.strip() for s in text.partition("="))
    if not sep or not key or not spec:
        raise ConfigError("--param", text, "must be KEY=LOW:HIGH, e.g. diffusion.weak_tie=0.01:0.06")
    if allow_choices and ":" not in spec and "," in spec:
        return Param(key, choices=[yaml.safe_load(v) for v in spec.split(",")])
    parts = spec.split(":")
    log = parts[2:] == ["log"]
    try:
        low, high = (int(v) if v.lstrip("+-").isdigit() else float(v) for v in parts[:2])
    except ValueError:
        low = high = None
    if len(parts) != 2 + log or low is None:
        raise ConfigError(key, spec, "must be a range LOW:HIGH or LOW:HIGH:log" + (" or choices a,b,c"
                                                                                   if allow_choices else ""))
    if not (math.isfinite(low) and math.isfinite(high) and low < high and (low > 0 or not log)):
        raise ConfigError(key, spec, "must have LOW < HIGH, both finite (LOW > 0 for a log range)")
    return Param(key, float(low), float(high), integer=isinstance(low, int) and isinstance(high, int), log=log)


def market(overrides) -> tuple[list[str], str | None]:
    """The base market's overrides and its ``preset=FILE``; refuses the settings of
    ``experiments.run`` that are not the market's (``out=``, ``jobs=``, ``hydra.*``, ...)."""
    from experiments.batch import AppSettings

    app = {f.name for f in dataclasses.fields(AppSettings)}
    keep, preset = [], None
    for text in overrides:
        key, _, value = text.partition("=")
        key = key.lstrip("+~")
        if key == "preset":
            preset = value
        elif key in app or key == "hydra" or key.startswith(("hydra.", "hydra/")):
            raise ConfigError(key, value, "not a key of the market; use the options --out, --jobs, --no-baseline")
        else:
            keep.append(text)
    return keep, preset


def assign(values: dict) -> list[str]:
    """``key=value`` overrides setting ``values``."""
    return [f"{k}={'true' if v is True else 'false' if v is False else 'null' if v is None else v}"
            for k, v in values.items()]


def check_params(overrides: list[str], preset: str | None, params: list[Param]):
    """Compose the base market and both ends of every range (all low and all high together
    too): ConfigError in one line for an unknown key or a value out of range. Returns the base."""
    from experiments.batch import compose_many

    if not params or len({p.key for p in params}) != len(params):
        raise ConfigError("--param", [p.key for p in params], "give one or more keys, each once")
    points = [{p.key: v} for p in params for v in p.ends()]
    if params and all(p.choices is None for p in params):
        points += [{p.key: p.cast(getattr(p, end)) for p in params} for end in ("low", "high")]
    return compose_many([overrides, *([*overrides, *assign(v)] for v in points)], preset)[0]


def jobs_of(what: str, points: dict[int, dict], overrides: list[str], preset: str | None, seeds: list[int],
            baseline: bool) -> list:
    """One :class:`~experiments.batch.Job` per point and seed, ``<what><i>-seed<s>``, with
    the point's values, ``what`` and ``seed`` as its columns."""
    from experiments.batch import Job, compose_many

    composed = compose_many([[*overrides, *assign(v)] for v in points.values()], preset)
    return [Job(f"{what}{i}-seed{s}", c.config.replace(seed=s), baseline, params={**v, what: i, "seed": s},
                overrides=[*c.overrides, f"seed={s}"])
            for (i, v), c in zip(points.items(), composed) for s in seeds]


def check_kpis(batch, kpis: list[str]) -> None:
    """Refuses KPIs not in the market's summary (seen on the batch's finished jobs), naming the known ones."""
    missing = [k for k in kpis if k not in batch.kpis]
    if missing and (batch.runs["status"] == "ok").any():
        known = sorted(k for k in batch.kpis if pd.api.types.is_numeric_dtype(batch.runs[k]))
        raise ConfigError("--kpi", ",".join(missing), "not in this market's summary (ROI and the incremental "
                                                      "KPIs need a campaign); known: " + ", ".join(known))


def parse_command(parser: ArgumentParser, argv: list[str]):
    """The options and the overrides (the other arguments) of a command line."""
    args, overrides = parser.parse_known_args(argv)
    unknown = [o for o in overrides if o.startswith("-")]
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    if getattr(args, "jobs", None) is not None:
        check_at_least("--jobs", args.jobs, 1)
    return args, overrides


# ---------------------------------------------------------------------------- the analysis
@dataclass
class Sensitivity:
    method: str
    params: list[Param]
    kpis: list[str]
    samples: pd.DataFrame  # one row per sample: keys, mean KPIs
    runs: pd.DataFrame  # one row per sample x seed
    indices: pd.DataFrame  # one row per KPI x key
    notes: list[str] = field(default_factory=list)
    paths: dict[str, Path] = field(default_factory=dict)
    ran: int = 0
    skipped: int = 0
    elapsed: float = 0.0


def _problem(params: list[Param]) -> dict:
    return {"num_vars": len(params), "names": [p.key for p in params], "bounds": [[p.low, p.high] for p in params]}


def sample(method: str, params: list[Param], n: int, levels: int = 4, seed: int = 0) -> np.ndarray:
    """The SALib sample (rows: points, columns: keys), before integer rounding."""
    from SALib.sample import morris, sobol

    if method == "sobol":
        return sobol.sample(_problem(params), n, calc_second_order=False, seed=seed)
    return morris.sample(_problem(params), n, num_levels=levels, seed=seed)


def analyse(method: str, params: list[Param], X: np.ndarray, Y: np.ndarray, levels: int = 4, seed: int = 0) -> dict:
    from SALib.analyze import morris, sobol

    if method == "sobol":  # a SeedSequence: sobol.analyze ignores a seed of 0 (``if seed:``)
        res = sobol.analyze(_problem(params), Y, calc_second_order=False, seed=np.random.SeedSequence(seed))
    else:
        res = morris.analyze(_problem(params), X, Y, num_levels=levels, seed=seed)
    return {k: np.asarray(res[k], dtype=float) for k in INDICES[method]}


def sensitivity(params: list[Param], overrides=(), *, method: str = "sobol", n: int = 64,
                kpis=DEFAULT_KPIS, seeds: int = 1, seed: int = 0, levels: int = 4, jobs: int | None = None,
                baseline: bool = True, progress: bool = True, out: str | Path | None = None) -> Sensitivity:
    """Validate, sample, run every sample at every seed (resuming in ``out``), compute the
    indices, write the files. Bad input is refused before any folder is made."""
    from experiments.batch import run_many
    from experiments.cli import claim_folder, new_folder, remove_folder

    check_choice("--method", method, ("sobol", "morris"))
    check_at_least("--n", n, 2)
    if method == "sobol" and n & (n - 1):
        raise ConfigError("--n", n, "must be a power of 2 for Sobol' sampling (e.g. 32, 64, 128)")
    check_at_least("--seeds", seeds, 1)
    overrides, preset = market(overrides)
    kpis, keys = list(kpis), [p.key for p in params]
    base = check_params(overrides, preset, params)  # its overrides: the preset's, then the command line's
    X = sample(method, params, n, levels, seed)
    seed_list = list(range(base.config.seed, base.config.seed + seeds))
    todo = jobs_of("sample", {i: {p.key: p.cast(x) for p, x in zip(params, row)} for i, row in enumerate(X)},
                   overrides, preset, seed_list, baseline)

    folder, created = claim_folder(out, finished=lambda p: False) if out else (
        new_folder(f"results/sensitivity/{method}"), True)
    if progress:
        print(f"sensitivity ({method}): {len(params)} keys, {len(todo):,} runs -> {folder}/", file=sys.stderr)
    first = run_many(todo[:1], folder / RUNS, workers=1, progress=False, write=False)
    try:  # the KPIs are checked on the first run; a refusal leaves no folder behind
        check_kpis(first, kpis)
    except ConfigError:
        if created:
            remove_folder(folder)
        raise
    batch = run_many(todo, folder / RUNS, workers=jobs, progress=progress, desc=f"sensitivity ({method})")
    check_kpis(batch, kpis)

    runs = batch.runs.reindex(columns=["job", "sample", "seed", *keys, "status", "error", *kpis, "wall_seconds"])
    runs[kpis] = runs[kpis].apply(pd.to_numeric, errors="coerce")
    notes = []
    failed = runs[runs["status"] != "ok"]
    if len(failed):
        notes.append(f"{len(failed)} of {len(runs)} runs failed (first: {failed['error'].iloc[0]}); their samples "
                     "have no KPIs: run the same command again to retry them")
    groups = runs.groupby("sample", sort=True)
    means = groups[kpis].mean().where(groups[kpis].count() == seeds)  # every seed, or undefined
    samples = groups[keys].first().join(means).reset_index()
    rows = []
    for k in kpis:
        Y = samples[k].to_numpy(dtype=float)
        res = {}
        if not np.isfinite(Y).all():
            notes.append(f"{k}: undefined in {int((~np.isfinite(Y)).sum())} of {len(Y)} samples (e.g. ROI without "
                         "a campaign cost, or failed runs): no indices")
        elif np.ptp(Y) == 0:
            notes.append(f"{k}: the same value in every sample: no indices")
        else:
            res = analyse(method, params, samples[keys].to_numpy(dtype=float), Y, levels, seed)
        rows += [{"kpi": k, "param": p.key, "low": p.low, "high": p.high,
                  **{c: float(res[c][j]) if res else None for c in INDICES[method]}} for j, p in enumerate(params)]
    result = Sensitivity(method, params, kpis, samples, runs, pd.DataFrame(rows), notes, ran=first.ran + batch.ran,
                         skipped=batch.skipped - first.ran, elapsed=first.elapsed + batch.elapsed)
    write_outputs(result, folder, overrides=base.overrides, preset=preset, n=n, seeds=seed_list, levels=levels,
                  sample_seed=seed, baseline=baseline)
    return result


def plot(result: Sensitivity):
    sobol = result.method == "sobol"
    fig, axes = pyplot().subplots(1, len(result.kpis), squeeze=False,
                                  figsize=(4.2 * len(result.kpis) + 1.5, 0.55 * len(result.params) + 2.2))
    for ax, k in zip(axes[0], result.kpis):
        sub = result.indices[result.indices["kpi"] == k]
        col = {c: sub[c].astype(float).to_numpy() for c in INDICES[result.method]}
        labels = sub["param"].tolist()
        if sobol:
            y = np.arange(len(labels))
            for shift, name, label, color in ((-0.2, "S1", "first order S1", "#4c72b0"),
                                              (0.2, "ST", "total ST", "#dd8452")):
                ax.barh(y + shift, col[name], height=0.38, xerr=col[f"{name}_conf"], label=label, color=color,
                        capsize=2)
            ax.axvline(0, color="black", lw=0.6)
            ax.set(yticks=y, yticklabels=labels, xlabel="Sobol' index (95 % interval)")
            ax.invert_yaxis()
        else:
            ax.errorbar(col["mu_star"], col["sigma"], xerr=col["mu_star_conf"], fmt="o", color="#4c72b0", capsize=2)
            for xi, yi, lab in zip(col["mu_star"], col["sigma"], labels):
                if np.isfinite(xi) and np.isfinite(yi):
                    ax.annotate(lab, (xi, yi), fontsize=8, xytext=(4, 3), textcoords="offset points")
            ax.set(xlabel="μ* (mean |elementary effect|)", ylabel="σ (spread: interactions, non-linearity)")
        ax.set_title(k)
        ax.grid(alpha=0.3)
    if sobol:
        axes[0][0].legend(loc="lower right", fontsize=8)
    fig.suptitle(f"{'Sobol' if sobol else 'Morris'} sensitivity, {len(result.samples)} samples x "
                 f"{result.runs['seed'].nunique()} seed(s)")
    fig.tight_layout()
    return fig


def write_outputs(result: Sensitivity, out: Path, **settings) -> dict[str, Path]:
    from sim.outputs import write_json

    problem = {"method": result.method, "kpis": result.kpis, "params": [dataclasses.asdict(p) for p in result.params],
               "notes": result.notes, **settings}
    result.paths = {"runs": write_csv(result.runs, out / "runs.csv"),
                    "samples": write_csv(result.samples, out / "samples.csv"),
                    "problem": write_json(problem, out / "problem.json"),
                    "plot": save_figure(plot(result), out / "indices.png")}
    result.paths["indices"] = write_csv(result.indices, out / "indices.csv")  # last: marks a finished analysis
    return result.paths


def table_text(result: Sensitivity) -> str:
    cols = ["S1", "ST"] if result.method == "sobol" else ["mu_star", "sigma"]
    lines = []
    for k in result.kpis:
        lines.append(f"{k}:")
        for _, r in result.indices[result.indices["kpi"] == k].iterrows():
            lines.append(f"  {r['param']:<40} " + "  ".join(f"{c} {r[c]:+.4g}" if pd.notna(r[c]) else f"{c} n/a"
                                                           for c in cols))
    return "\n".join(lines)


# ---------------------------------------------------------------------------- command line
def main(argv: list[str] | None = None) -> int:
    return command(_main, argv)


def _main(argv: list[str]) -> int:
    parser = ArgumentParser(prog="python -m experiments.sensitivity",
                            description="Sobol' or Morris sensitivity of KPIs to config keys (SALib).",
                            epilog="Other arguments are overrides of experiments.run for the base market, "
                                   "e.g. preset=market.yaml population.size=5000 days=90 campaign=referral")
    add = parser.add_argument
    add("--method", choices=("sobol", "morris"), default="sobol")
    add("--param", action="append", default=[], metavar="KEY=LOW:HIGH", help="a config key and its range (repeat)")
    add("--kpi", action="append", default=[], help=f"a summary KPI (repeat; default {', '.join(DEFAULT_KPIS)})")
    add("--n", type=int, help="Sobol: base samples, a power of 2 (default 64); Morris: trajectories (default 20)")
    add("--levels", type=int, default=4, help="Morris grid levels (default 4)")
    add("--seeds", type=int, default=1, help="seeds per sample, mean taken (default 1)")
    add("--jobs", type=int, help="worker processes (default: all cores)")
    add("--out", help="output folder (default results/sensitivity/<method>/<time>); again: resume")
    add("--sample-seed", type=int, default=0, help="seed of the SALib sample and bootstrap")
    add("--no-baseline", action="store_true", help="skip the no-campaign baseline runs")
    add("--no-progress", action="store_true")
    args, overrides = parse_command(parser, argv)
    n = args.n if args.n is not None else (64 if args.method == "sobol" else 20)
    result = sensitivity([parse_param(p) for p in args.param], overrides, method=args.method, n=n,
                         kpis=args.kpi or DEFAULT_KPIS, seeds=args.seeds, seed=args.sample_seed, levels=args.levels,
                         jobs=args.jobs, baseline=not args.no_baseline, progress=not args.no_progress, out=args.out)
    print("\n".join([table_text(result), *(f"note: {note}" for note in result.notes),
                     f"{len(result.runs):,} runs: {result.ran} run now in {result.elapsed:.1f} s, "
                     f"{result.skipped} found finished", f"outputs: {result.paths['indices'].parent}/ (indices.csv, "
                     "indices.png, samples.csv, runs.csv; the jobs in runs/)"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
