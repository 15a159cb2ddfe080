"""Search campaign parameters for the best KPI (Optuna): ``python -m experiments.optimize``.

Usage::

    python -m experiments.optimize --kpi roi --trials 40 --seeds 2 \\
        --param campaign.referral.inviter_reward=1:40 --param campaign.referral.invitee_reward=1:40 \\
        --param campaign.referral.reward_form=cash,coupon \\
        campaign=referral population.size=5000 days=90
    python -m experiments.optimize --kpi gmv --budget 20000 --param ... --study gmv_20k ...

``--kpi NAME`` (a key of ``summary.json``, nested ones flattened with ``_``;
``roi``, ``incremental_gmv``, ``gmv``, ``customers``, …), ``--direction``
(``maximize``, the default, or ``minimize``), ``--param`` (repeat:
``KEY=LOW:HIGH`` a float range, integer bounds an integer range, ``:log`` a
log scale, ``KEY=a,b,c`` choices), ``--budget YUAN`` (shorthand for
``--constraint campaign_cost_total<=YUAN``), ``--constraint KPI<=VALUE`` or
``KPI>=VALUE`` (repeat), ``--trials N`` (trials in the study in all: a re-run
adds only the missing ones), ``--seeds S`` (each trial runs seeds ``seed`` …
``seed``+S−1, the same for every trial, and scores the mean), ``--jobs``
(worker processes), ``--study NAME`` (default: the KPI), ``--out`` (default
``results/optimize/<study>/``). Every other argument is a Hydra override of
``experiments.run`` for the base market (it must switch the campaign on).

Optuna's TPE sampler proposes the parameters (constraints through its
``constraints_func``: infeasible trials are kept and steer the search away);
each trial drives the simulation core directly in worker processes (no Hydra job
per run). The study lives in ``study.db`` (SQLite) in the output folder, so an
interrupted search resumes where it stopped: a trial left running by a killed
search is marked failed and its parameters are tried again. Writes
``history.csv`` (one row per trial), ``history.png`` and, last, ``best.json``
(the best feasible trial: parameters, KPI, every mean KPI, the command to run it).
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.sensitivity import (Param, _task, base_config, check_params, parse_param, save_figure,
                                     write_csv)
from sim.errors import ConfigError

CONSTRAINT = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(<=|>=)\s*(-?[\d.eE+-]+)\s*$")


@dataclass
class Constraint:
    kpi: str
    op: str        # "<=" or ">="
    limit: float

    def violation(self, value) -> float:
        """<= 0 when satisfied (Optuna's convention); 1e30 when the KPI is undefined."""
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return UNDEFINED
        return float(value) - self.limit if self.op == "<=" else self.limit - float(value)

    def __str__(self) -> str:
        return f"{self.kpi}{self.op}{self.limit:g}"


def parse_constraint(text: str) -> Constraint:
    m = CONSTRAINT.match(text)
    if not m:
        raise ConfigError("--constraint", text, "must be KPI<=VALUE or KPI>=VALUE, e.g. campaign_cost_total<=20000")
    return Constraint(m.group(1), m.group(2), float(m.group(3)))


@dataclass
class Optimization:
    study_name: str
    kpi: str
    direction: str
    history: pd.DataFrame
    best: dict | None
    notes: list[str] = field(default_factory=list)
    paths: dict[str, Path] = field(default_factory=dict)
    ran: int = 0
    elapsed: float = 0.0


def _suggest(trial, p: Param):
    if p.choices is not None:
        return trial.suggest_categorical(p.key, p.choices)
    if p.integer:
        return trial.suggest_int(p.key, int(p.low), int(p.high), log=p.log)
    return trial.suggest_float(p.key, p.low, p.high, log=p.log)


def _settings(kpi, direction, params, constraints, overrides, seeds) -> dict:
    return {"kpi": kpi, "direction": direction,
            "params": [{"key": p.key, "low": p.low, "high": p.high, "integer": p.integer, "log": p.log,
                        "choices": p.choices} for p in params],
            "constraints": [str(c) for c in constraints], "overrides": list(overrides), "seeds": list(seeds)}


def _has_set_constraint() -> bool:
    try:
        from optuna.trial import Trial
    except ImportError:  # pragma: no cover
        return False
    return hasattr(Trial, "set_constraint")


_NEW_CONSTRAINTS = _has_set_constraint()
#: Stands for "undefined" in a constraint (Optuna refuses NaN).
UNDEFINED = 1e30


def _constraints_func(trial) -> list[float]:
    return list(trial.user_attrs.get("constraints", [0.0]))


def open_study(path: Path, name: str, settings: dict, sampler_seed: int | None):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    startup = min(10, max(4, len(settings["params"]) * 2))
    if _NEW_CONSTRAINTS:  # Optuna >= 5: trial.set_constraint, read by the sampler
        sampler = optuna.samplers.TPESampler(seed=sampler_seed, n_startup_trials=startup)
    else:
        sampler = optuna.samplers.TPESampler(seed=sampler_seed, constraints_func=_constraints_func,
                                             n_startup_trials=startup)
    path.parent.mkdir(parents=True, exist_ok=True)
    storage = optuna.storages.RDBStorage(f"sqlite:///{path}")
    study = optuna.create_study(study_name=name, storage=storage, load_if_exists=True,
                                direction=settings["direction"], sampler=sampler)
    stored = study.user_attrs.get("settings")
    if stored is None:
        study.set_user_attr("settings", settings)
    elif stored != settings:
        diff = [k for k in settings if stored.get(k) != settings[k]]
        raise ConfigError("--study", name, f"exists in {path} with other settings ({', '.join(diff)}); "
                                           "give another --study or --out to start a new one")
    return study, storage


def _recover(study, storage) -> int:
    """Trials left RUNNING by a killed search: mark failed, queue their parameters again."""
    from optuna.trial import TrialState

    stale = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    n = 0
    if stale:
        study_id = storage.get_study_id_from_name(study.study_name)
    for t in stale:
        if t.state == TrialState.RUNNING:
            trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, t.number)
            storage.set_trial_user_attr(trial_id, "error", "interrupted (the search was killed)")
            storage.set_trial_state_values(trial_id, state=TrialState.FAIL)
            if t.params:
                study.enqueue_trial(t.params, user_attrs={"retry_of": t.number}, skip_if_exists=False)
            n += 1
    return n


def optimize(params: list[Param], overrides: list[str] = (), *, kpi: str = "roi", direction: str = "maximize",
             constraints: list[Constraint] = (), trials: int = 30, seeds: int = 1, jobs: int | None = None,
             study_name: str | None = None, out: str | Path | None = None, sampler_seed: int | None = 0,
             baseline: bool = True, progress: bool = True) -> Optimization:
    """Run (or resume) the study until it holds ``trials`` finished trials; write the files."""
    from optuna.trial import TrialState
    from tqdm.auto import tqdm

    from experiments.compare import _cores, _mp_context

    if direction not in ("maximize", "minimize"):
        raise ConfigError("--direction", direction, "must be maximize or minimize")
    if not params:
        raise ConfigError("--param", None, "at least one KEY=LOW:HIGH (or KEY=a,b) is needed")
    for name, value, minimum in (("--trials", trials, 1), ("--seeds", seeds, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ConfigError(name, value, f"must be an integer >= {minimum}")
    base = base_config(list(overrides))
    check_params(base, params)
    first = int(base.get("seed", 0))
    seed_list = list(range(first, first + seeds))
    study_name = study_name or kpi
    if not re.fullmatch(r"[\w.-]+", study_name):
        raise ConfigError("--study", study_name, "must be letters, digits, '_', '-' or '.'")
    out = Path(out) if out is not None else Path("results/optimize") / study_name
    settings = _settings(kpi, direction, params, constraints, overrides, seed_list)
    study, storage = open_study(out / "study.db", study_name, settings, sampler_seed)
    notes = []
    recovered = _recover(study, storage)
    if recovered:
        notes.append(f"{recovered} trial(s) left running by an interrupted search were marked failed and queued again")

    def finished() -> int:
        return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.FAIL,
                                                            TrialState.PRUNED)))

    todo = max(0, trials - finished())
    jobs = max(1, min(jobs or _cores(), max(1, todo * seeds)))
    start = time.perf_counter()
    bar = tqdm(total=todo, desc=f"optimize {study_name}", unit="trial", disable=not progress or todo == 0,
               file=sys.stderr, dynamic_ncols=True)
    in_flight: dict[int, dict] = {}      # trial number -> {"trial", "results": {seed: flat}, "errors"}
    asked = 0
    checked = False

    def tell(number: int) -> None:
        nonlocal checked
        entry = in_flight.pop(number)
        trial, results, errors = entry["trial"], entry["results"], entry["errors"]
        flats = [results[s] for s in seed_list if s in results]
        if flats and not checked:
            checked = True
            missing = [k for k in [kpi, *(c.kpi for c in constraints)] if k not in flats[0]]
            if missing:
                known = sorted(k for k, v in flats[0].items() if v is None or isinstance(v, (int, float)))
                raise ConfigError("--kpi", ",".join(missing), "not in this market's summary (ROI and the "
                                  "incremental KPIs need a campaign among the overrides); known: " + ", ".join(known))
        means = {}
        for key in flats[0] if flats else []:
            values = [f.get(key) for f in flats]
            if all(isinstance(v, (int, float)) and not isinstance(v, bool) and v is not None
                   and math.isfinite(v) for v in values):
                means[key] = float(np.mean(values))
        trial.set_user_attr("kpis", {k: v for k, v in means.items() if k not in ("seed", "wall_seconds")})
        trial.set_user_attr("seeds", seed_list)
        violations = [c.violation(means.get(c.kpi)) if not errors else UNDEFINED for c in constraints]
        trial.set_user_attr("constraints", violations or [0.0])
        if _NEW_CONSTRAINTS:
            for c, v in zip(constraints, violations):
                trial.set_constraint(str(c), v)
        value = means.get(kpi)
        if errors or value is None:
            why = errors[0] if errors else f"{kpi} undefined (e.g. ROI with no campaign cost)"
            trial.set_user_attr("error", why)
            study.tell(trial, state=TrialState.FAIL)
        else:
            study.tell(trial, value)
        bar.update(1)
        best = _best(study, direction)
        if best is not None:
            bar.set_postfix_str(f"best {kpi} {best.value:,.4g}")

    ran = 0
    try:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=_mp_context()) if jobs > 1 else _Inline() as pool:
            pending: dict = {}
            while asked < todo or pending:
                while asked < todo and len(pending) < jobs:
                    trial = study.ask()
                    values = {p.key: _suggest(trial, p) for p in params}
                    in_flight[trial.number] = {"trial": trial, "results": {}, "errors": []}
                    for s in seed_list:
                        pending[pool.submit(_task, ((trial.number, s), base, values, s, baseline))] = trial.number
                    asked += 1
                done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
                for fut in done:
                    pending.pop(fut)
                    (number, s), flat, error = fut.result()
                    entry = in_flight[number]
                    if error is not None:
                        entry["errors"].append(error)
                    else:
                        entry["results"][s] = flat
                    if len(entry["results"]) + len(entry["errors"]) == len(seed_list):
                        tell(number)
                        ran += 1
    except BaseException:
        for entry in list(in_flight.values()):  # not half-recorded: failed now, retried on resume
            try:
                study.tell(entry["trial"], state=TrialState.FAIL)
            except Exception:  # noqa: BLE001
                pass
        raise
    finally:
        bar.close()
    elapsed = time.perf_counter() - start
    history = history_frame(study, params, kpi, constraints)
    best = best_record(study, params, kpi, direction, constraints, overrides, seed_list)
    if best is None:
        notes.append("no feasible trial yet: loosen the constraints or run more trials")
    result = Optimization(study_name, kpi, direction, history, best, notes, ran=ran, elapsed=elapsed)
    write_outputs(result, out, params)
    return result


class _Inline:
    """A one-process stand-in for ProcessPoolExecutor (``--jobs 1``)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def submit(self, fn, *args):
        from concurrent.futures import Future

        fut = Future()
        try:
            fut.set_result(fn(*args))
        except BaseException as err:  # noqa: BLE001
            fut.set_exception(err)
        return fut


def _feasible(t) -> bool:
    return all(c <= 0 for c in t.user_attrs.get("constraints", [0.0]))


def _best(study, direction: str):
    from optuna.trial import TrialState

    done = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if _feasible(t)]
    if not done:
        return None
    return (max if direction == "maximize" else min)(done, key=lambda t: t.value)


def history_frame(study, params: list[Param], kpi: str, constraints: list[Constraint]) -> pd.DataFrame:
    rows = []
    best = None
    direction = study.direction.name.lower()
    for t in study.get_trials(deepcopy=False):
        row = {"trial": t.number, "state": t.state.name.lower(), kpi: t.value}
        row.update({p.key: t.params.get(p.key) for p in params})
        feasible = _feasible(t) if t.state.name == "COMPLETE" else None
        row["feasible"] = feasible
        for c, v in zip(constraints, t.user_attrs.get("constraints", [])):
            row[f"constraint {c}"] = v
        if t.state.name == "COMPLETE" and feasible:
            better = best is None or (t.value > best if direction == "maximize" else t.value < best)
            best = t.value if better else best
        row[f"best {kpi} so far"] = best
        row["error"] = t.user_attrs.get("error")
        row["retry_of"] = t.user_attrs.get("retry_of")
        row["seconds"] = (t.datetime_complete - t.datetime_start).total_seconds() \
            if t.datetime_complete and t.datetime_start else None
        for k, v in sorted(t.user_attrs.get("kpis", {}).items()):
            if k not in row and k not in ("seed", "wall_seconds"):
                row[f"mean {k}"] = v
        rows.append(row)
    return pd.DataFrame(rows)


def best_record(study, params, kpi, direction, constraints, overrides, seeds) -> dict | None:
    t = _best(study, direction)
    if t is None:
        return None
    args = [f"{k}={_fmt(v)}" for k, v in t.params.items()]
    return {"study": study.study_name, "trial": t.number, "kpi": kpi, "direction": direction, "value": t.value,
            "params": t.params, "constraints": [str(c) for c in constraints], "seeds": seeds,
            "kpis": t.user_attrs.get("kpis", {}),
            "command": "python -m experiments.run " + " ".join([*overrides, *args])}


def _fmt(value) -> str:
    return repr(round(value, 6)) if isinstance(value, float) else str(value)


def plot(result: Optimization, params: list[Param]):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    h = result.history
    numeric = [p for p in params if p.choices is None][:4]
    fig, axes = plt.subplots(1, 1 + len(numeric), figsize=(5.5 + 3.2 * len(numeric), 3.8), squeeze=False)
    ax = axes[0][0]
    kpi = result.kpi
    ok = h[(h["state"] == "complete")] if len(h) else h
    if len(ok):
        feas = ok[ok["feasible"] == True]  # noqa: E712 - a nullable column
        infeas = ok[ok["feasible"] != True]  # noqa: E712
        ax.scatter(feas["trial"], feas[kpi], s=18, color="#4c72b0", label="feasible")
        if len(infeas):
            ax.scatter(infeas["trial"], infeas[kpi], s=18, marker="x", color="#999999", label="infeasible")
        ax.step(h["trial"], h[f"best {kpi} so far"], where="post", color="#dd8452", label="best so far")
    failed = h[h["state"] == "fail"] if len(h) else h
    if len(failed):
        ax.scatter(failed["trial"], [ax.get_ylim()[0]] * len(failed), marker="|", color="#c44e52", label="failed")
    ax.set_xlabel("trial")
    ax.set_ylabel(kpi)
    ax.set_title(f"{result.study_name}: {result.direction} {kpi}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    for ax, p in zip(axes[0][1:], numeric):
        if len(ok):
            ax.scatter(ok[p.key], ok[kpi], s=14, c=ok["trial"], cmap="viridis")
        if result.best is not None:
            ax.axvline(result.best["params"].get(p.key, np.nan), color="#dd8452", lw=1)
        ax.set_xlabel(p.key)
        ax.set_xscale("log" if p.log else "linear")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def write_outputs(result: Optimization, out: Path, params: list[Param]) -> dict[str, Path]:
    """history.csv, history.png, then best.json (last)."""
    from sim.outputs import write_json

    paths = {"history": write_csv(result.history, out / "history.csv"),
             "plot": save_figure(plot(result, params), out / "history.png")}
    paths["best"] = write_json(result.best or {"study": result.study_name, "best": None, "notes": result.notes},
                               out / "best.json")
    paths["study"] = out / "study.db"
    result.paths = paths
    return paths


# ---------------------------------------------------------------------------- command line
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m experiments.optimize",
        description="Search config keys (e.g. campaign parameters) for the best KPI with Optuna (TPE), "
                    "study stored in SQLite (resumable).",
        epilog="Other arguments are Hydra overrides of experiments.run for the base market, "
               "e.g. campaign=referral population.size=5000 days=90")
    parser.add_argument("--kpi", default="roi", help="the KPI to optimize (default roi)")
    parser.add_argument("--direction", choices=("maximize", "minimize"), default="maximize")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=LOW:HIGH[:log]|KEY=a,b",
                        help="a key to search and its range or choices (repeat)")
    parser.add_argument("--budget", type=float, default=None, help="campaign_cost_total <= this (yuan)")
    parser.add_argument("--constraint", action="append", default=[], metavar="KPI<=VALUE",
                        help="a constraint on a mean KPI (repeat)")
    parser.add_argument("--trials", type=int, default=30, help="trials in the study in all (default 30)")
    parser.add_argument("--seeds", type=int, default=1, help="seeds per trial, mean scored (default 1)")
    parser.add_argument("--jobs", type=int, default=None, help="worker processes (default: all cores)")
    parser.add_argument("--study", default=None, help="study name (default: the KPI)")
    parser.add_argument("--out", default=None, help="output folder (default results/optimize/<study>)")
    parser.add_argument("--sampler-seed", type=int, default=0, help="seed of the TPE sampler")
    parser.add_argument("--no-baseline", action="store_true", help="skip the baseline runs (no incremental KPIs)")
    parser.add_argument("--no-progress", action="store_true")
    args, overrides = parser.parse_known_args(argv)
    unknown = [o for o in overrides if o.startswith("-")]
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        params = [parse_param(p, allow_choices=True) for p in args.param]
        constraints = [parse_constraint(c) for c in args.constraint]
        if args.budget is not None:
            constraints.append(Constraint("campaign_cost_total", "<=", float(args.budget)))
        if args.jobs is not None and args.jobs < 1:
            raise ConfigError("--jobs", args.jobs, "must be an integer >= 1")
        print(f"optimize: {args.direction} {args.kpi} over {', '.join(p.key for p in params) or '?'}"
              + (f" subject to {', '.join(map(str, constraints))}" if constraints else "")
              + f"; {args.trials} trials x {args.seeds} seed(s)"
              + (f"; overrides: {' '.join(overrides)}" if overrides else ""), file=sys.stderr)
        result = optimize(params, overrides, kpi=args.kpi, direction=args.direction, constraints=constraints,
                          trials=args.trials, seeds=args.seeds, jobs=args.jobs, study_name=args.study,
                          out=args.out, sampler_seed=args.sampler_seed, baseline=not args.no_baseline,
                          progress=not args.no_progress)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    h = result.history
    counts = h["state"].value_counts().to_dict() if len(h) else {}
    print(f"study {result.study_name}: {len(h)} trials ({', '.join(f'{v} {k}' for k, v in counts.items())}), "
          f"{result.ran} run now in {result.elapsed:.1f} s")
    for note in result.notes:
        print(f"note: {note}")
    if result.best:
        b = result.best
        print(f"best {b['kpi']} {b['value']:,.6g} (trial {b['trial']}): "
              + ", ".join(f"{k}={_fmt(v)}" for k, v in b["params"].items()))
        print(f"run it: {b['command']}")
    print(f"outputs: {result.paths['best'].parent}/ (best.json, history.csv, history.png, study.db)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
