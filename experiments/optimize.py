"""Search config keys for the best KPI (Optuna): ``python -m experiments.optimize``.

Usage::

    python -m experiments.optimize --kpi roi --trials 40 --seeds 2 --param campaign.referral.inviter_reward=1:40 \\
        --param campaign.referral.reward_form=cash,coupon campaign=referral population.size=5000 days=90
    python -m experiments.optimize --kpi incremental_gmv --budget 20000 --study gmv_20k --param ... campaign=referral

Options: ``--help``; every other argument is an override of ``experiments.run`` for the
base market (``preset=FILE`` included). Optuna's TPE sampler, ask and tell: up to
``--jobs`` trials are asked at a time, their jobs (``trial<n>-seed<s>``) run through
:func:`experiments.batch.run_many` in ``<out>/runs/`` and their mean KPIs are told;
constraints are Optuna's trial constraints. The study lives in ``<out>/study.db``
(SQLite): a search resumes, and a trial left running by a killed search is marked failed
and tried again. Writes ``history.csv``, ``history.png`` and, last, ``best.json``.
"""

from __future__ import annotations

import math
import re
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.cli import ArgumentParser, command
from experiments.sensitivity import RUNS, Param, check_kpis, check_params, jobs_of, market, parse_command, parse_param
from experiments.sweep_plots import pyplot, save_figure, write_csv
from sim.errors import ConfigError, check_at_least, check_choice

#: Stands for "undefined" in a constraint (Optuna refuses NaN).
UNDEFINED = 1e30


@dataclass
class Constraint:
    kpi: str
    op: str  # "<=" or ">="
    limit: float

    def violation(self, value) -> float:
        """<= 0 when satisfied (Optuna's convention); UNDEFINED when the KPI is."""
        if value is None or not math.isfinite(value):
            return UNDEFINED
        return value - self.limit if self.op == "<=" else self.limit - value

    def __str__(self) -> str:
        return f"{self.kpi}{self.op}{self.limit:g}"


def parse_constraint(text: str) -> Constraint:
    m = re.fullmatch(r"\s*([A-Za-z_][\w.]*)\s*(<=|>=)\s*(-?[\d.eE+-]+)\s*", text)
    try:
        return Constraint(m.group(1), m.group(2), float(m.group(3)))
    except (AttributeError, ValueError):
        raise ConfigError("--constraint", text, "must be KPI<=VALUE or KPI>=VALUE, e.g. "
                                                "campaign_cost_total<=20000") from None


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
    suggest = trial.suggest_int if p.integer else trial.suggest_float
    return suggest(p.key, p.cast(p.low), p.cast(p.high), log=p.log)


def _set_constraints() -> bool:
    """Optuna >= 5: ``Trial.set_constraint`` (before: the sampler's ``constraints_func``)."""
    from optuna.trial import Trial

    return hasattr(Trial, "set_constraint")


def record_constraints(trial, violations: dict[str, float]) -> None:
    """A trial's constraint violations (≤ 0: satisfied) for the sampler, as this Optuna
    takes them (``Trial.set_constraint``, or the user attribute its ``constraints_func`` reads)."""
    trial.set_user_attr("constraints", list(violations.values()) or [0.0])
    if _set_constraints():
        for name, v in violations.items():
            trial.set_constraint(name, v)


def open_study(path: Path, name: str, settings: dict, sampler_seed: int | None):
    """The study in ``path`` (created, or loaded if its settings are these); trials left
    RUNNING by a killed search are marked failed and their parameters queued again."""
    import optuna
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    startup = min(10, max(4, len(settings["params"]) * 2))
    sampler = optuna.samplers.TPESampler(seed=sampler_seed, n_startup_trials=startup, **(
        {} if _set_constraints() else {"constraints_func": lambda t: t.user_attrs.get("constraints", [0.0])}))
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
    stale = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    for t in stale:
        trial_id = storage.get_trial_id_from_study_id_trial_number(storage.get_study_id_from_name(name), t.number)
        storage.set_trial_user_attr(trial_id, "error", "interrupted (the search was killed)")
        storage.set_trial_state_values(trial_id, state=TrialState.FAIL)
        if t.params:
            study.enqueue_trial(t.params, user_attrs={"retry_of": t.number}, skip_if_exists=False)
    return study, len(stale)


def tell(study, trial, batch, kpi: str, constraints: list[Constraint]) -> None:
    """Tell a trial the mean KPIs of its runs in ``batch``: failed if a run failed or the KPI is undefined."""
    from optuna.trial import TrialState

    rows = batch.runs[batch.runs["trial"] == trial.number]
    numeric = [k for k in batch.kpis if pd.api.types.is_numeric_dtype(rows[k])
               and not pd.api.types.is_bool_dtype(rows[k]) and k not in ("wall_seconds", "market_seed")]
    means = {k: float(v) for k, v in rows[numeric].mean(skipna=False).items() if math.isfinite(v)}
    errors = rows.loc[rows["status"] != "ok", "error"].tolist()
    violations = [UNDEFINED if errors else c.violation(means.get(c.kpi)) for c in constraints]
    trial.set_user_attr("kpis", means)
    record_constraints(trial, {str(c): v for c, v in zip(constraints, violations)})
    if errors or kpi not in means:
        trial.set_user_attr("error", errors[0] if errors else f"{kpi} undefined (e.g. ROI with no campaign cost)")
        study.tell(trial, state=TrialState.FAIL)
    else:
        study.tell(trial, means[kpi])


def optimize(params: list[Param], overrides=(), *, kpi: str = "roi", direction: str = "maximize",
             constraints: list[Constraint] = (), trials: int = 30, seeds: int = 1, jobs: int | None = None,
             study_name: str | None = None, out: str | Path | None = None, sampler_seed: int | None = 0,
             baseline: bool = True, progress: bool = True) -> Optimization:
    """Run (or resume) the study until it holds ``trials`` finished trials; write the files."""
    import optuna
    from optuna.trial import TrialState
    from tqdm.auto import tqdm

    from experiments.batch import FolderLock, collect, cores, run_many
    from experiments.cli import claim_folder, remove_folder

    check_choice("--direction", direction, ("maximize", "minimize"))
    check_at_least("--trials", trials, 1)
    check_at_least("--seeds", seeds, 1)
    study_name = study_name or kpi
    if not re.fullmatch(r"[\w.-]+", study_name):
        raise ConfigError("--study", study_name, "must be letters, digits, '_', '-' or '.'")
    overrides, preset = market(overrides)
    base = check_params(overrides, preset, params)  # its overrides: the preset's, then the command line's
    seed_list = list(range(base.config.seed, base.config.seed + seeds))
    settings = {"kpi": kpi, "direction": direction, "params": [asdict(p) for p in params], "seeds": seed_list,
                "constraints": [str(c) for c in constraints], "overrides": base.overrides}
    folder, created = claim_folder(out or Path("results/optimize") / study_name, finished=lambda p: False)
    workers, ran, notes, start = jobs or cores(), 0, [], time.perf_counter()
    if progress:
        print(f"optimize {study_name}: {direction} {kpi}" + "".join(f", {c}" for c in constraints)
              + f"; {trials} trials x {seeds} seed(s) -> {folder}/", file=sys.stderr)
    with FolderLock(folder):
        study, stale = open_study(folder / "study.db", study_name, settings, sampler_seed)
        if stale:
            notes.append(f"{stale} trial(s) left running by an interrupted search were marked failed and queued again")
        done = (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED)
        todo = max(0, trials - len(study.get_trials(deepcopy=False, states=done)))
        new = not study.get_trials(deepcopy=False)
        with tqdm(total=todo, desc=f"optimize {study_name}", unit="trial", disable=not progress or not todo,
                  file=sys.stderr, dynamic_ncols=True) as bar:
            while ran < todo:
                asked = [study.ask() for _ in range(min(workers, todo - ran))]
                points = {t.number: {p.key: _suggest(t, p) for p in params} for t in asked}
                batch = run_many(jobs_of("trial", points, overrides, preset, seed_list, baseline), folder / RUNS,
                                 workers=workers, progress=False, write=False)
                try:
                    check_kpis(batch, [kpi, *(c.kpi for c in constraints)])
                except ConfigError:  # on the first batch: nothing kept but what was there
                    for t in asked:
                        study.tell(t, state=TrialState.FAIL)
                    if created:
                        remove_folder(folder)
                    elif new:
                        optuna.delete_study(study_name=study_name, storage=f"sqlite:///{folder / 'study.db'}")
                    raise
                for t in asked:
                    tell(study, t, batch, kpi, constraints)
                ran += len(asked)
                bar.update(len(asked))
                if (best := _best(study, direction)) is not None:
                    bar.set_postfix_str(f"best {kpi} {best.value:,.4g}")
        if ran:
            collect(folder / RUNS).write()
        history = history_frame(study, params, kpi, constraints)
        best = best_record(study, kpi, direction, constraints, ([f"preset={preset}"] if preset else []) + overrides,
                           seed_list)
    if best is None:
        notes.append("no feasible trial yet: loosen the constraints or run more trials")
    result = Optimization(study_name, kpi, direction, history, best, notes, ran=ran,
                          elapsed=time.perf_counter() - start)
    write_outputs(result, folder, params)
    return result


def _feasible(t) -> bool:
    return all(c <= 0 for c in t.user_attrs.get("constraints", [0.0]))


def _best(study, direction: str):
    from optuna.trial import TrialState

    done = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if _feasible(t)]
    return (max if direction == "maximize" else min)(done, key=lambda t: t.value) if done else None


def history_frame(study, params: list[Param], kpi: str, constraints: list[Constraint]) -> pd.DataFrame:
    rows, best = [], None
    better = max if study.direction.name == "MAXIMIZE" else min
    for t in study.get_trials(deepcopy=False):
        complete = t.state.name == "COMPLETE"
        row = {"trial": t.number, "state": t.state.name.lower(), kpi: t.value,
               **{p.key: t.params.get(p.key) for p in params}, "feasible": _feasible(t) if complete else None}
        row.update({f"constraint {c}": v for c, v in zip(constraints, t.user_attrs.get("constraints", []))})
        if complete and row["feasible"]:
            best = t.value if best is None else better(best, t.value)
        row.update({f"best {kpi} so far": best, "error": t.user_attrs.get("error"), "retry_of": t.user_attrs.get(
            "retry_of"), "seconds": t.duration.total_seconds() if t.duration else None})
        row.update({f"mean {k}": v for k, v in sorted(t.user_attrs.get("kpis", {}).items()) if k not in row})
        rows.append(row)
    return pd.DataFrame(rows)


def best_record(study, kpi, direction, constraints, overrides, seeds) -> dict | None:
    t = _best(study, direction)
    if t is None:
        return None
    return {"study": study.study_name, "trial": t.number, "kpi": kpi, "direction": direction, "value": t.value,
            "params": t.params, "constraints": [str(c) for c in constraints], "seeds": seeds,
            "kpis": t.user_attrs.get("kpis", {}), "command": "python -m experiments.run "
            + " ".join([*overrides, *(f"{k}={_fmt(v)}" for k, v in t.params.items())])}


def _fmt(value) -> str:
    return repr(round(value, 6)) if isinstance(value, float) else str(value)


def plot(result: Optimization, params: list[Param]):
    h, kpi = result.history, result.kpi
    numeric = [p for p in params if p.choices is None][:4]
    fig, axes = pyplot().subplots(1, 1 + len(numeric), figsize=(5.5 + 3.2 * len(numeric), 3.8), squeeze=False)
    ax = axes[0][0]
    ok, failed = h[h["state"] == "complete"], h[h["state"] == "fail"]
    feasible = ok["feasible"].astype(bool)
    ax.scatter(ok.loc[feasible, "trial"], ok.loc[feasible, kpi], s=18, color="#4c72b0", label="feasible")
    if (~feasible).any():
        ax.scatter(ok.loc[~feasible, "trial"], ok.loc[~feasible, kpi], s=18, marker="x", color="#999999",
                   label="infeasible")
    ax.step(h["trial"], h[f"best {kpi} so far"], where="post", color="#dd8452", label="best so far")
    if len(failed):
        ax.scatter(failed["trial"], [ax.get_ylim()[0]] * len(failed), marker="|", color="#c44e52", label="failed")
    ax.set(xlabel="trial", ylabel=kpi, title=f"{result.study_name}: {result.direction} {kpi}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    for ax, p in zip(axes[0][1:], numeric):
        ax.scatter(ok[p.key], ok[kpi], s=14, c=ok["trial"], cmap="viridis")
        if result.best is not None:
            ax.axvline(result.best["params"].get(p.key, np.nan), color="#dd8452", lw=1)
        ax.set(xlabel=p.key, xscale="log" if p.log else "linear")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def write_outputs(result: Optimization, out: Path, params: list[Param]) -> dict[str, Path]:
    """history.csv, history.png, then best.json (last)."""
    from sim.outputs import write_json

    result.paths = {"history": write_csv(result.history, out / "history.csv"),
                    "plot": save_figure(plot(result, params), out / "history.png"),
                    "study": out / "study.db"}
    result.paths["best"] = write_json(result.best or {"study": result.study_name, "best": None,
                                                      "notes": result.notes}, out / "best.json")
    return result.paths


# ---------------------------------------------------------------------------- command line
def main(argv: list[str] | None = None) -> int:
    return command(_main, argv)


def _main(argv: list[str]) -> int:
    parser = ArgumentParser(prog="python -m experiments.optimize",
                            description="Search config keys (e.g. campaign parameters) for the best KPI with Optuna "
                                        "(TPE); the study is stored in SQLite (resumable).",
                            epilog="Other arguments are overrides of experiments.run for the base market, "
                                   "e.g. campaign=referral population.size=5000 days=90")
    add = parser.add_argument
    add("--kpi", default="roi", help="the KPI to optimize (default roi)")
    add("--direction", choices=("maximize", "minimize"), default="maximize")
    add("--param", action="append", default=[], metavar="KEY=LOW:HIGH[:log]|KEY=a,b",
        help="a key to search and its range or choices (repeat)")
    add("--budget", type=float, help="campaign_cost_total <= this (yuan)")
    add("--constraint", action="append", default=[], metavar="KPI<=VALUE", help="on a mean KPI (repeat)")
    add("--trials", type=int, default=30, help="trials in the study in all (default 30)")
    add("--seeds", type=int, default=1, help="seeds per trial, mean scored (default 1)")
    add("--jobs", type=int, help="worker processes and trials at a time (default: all cores)")
    add("--study", help="study name (default: the KPI)")
    add("--out", help="output folder (default results/optimize/<study>)")
    add("--sampler-seed", type=int, default=0, help="seed of the TPE sampler")
    add("--no-baseline", action="store_true", help="skip the baseline runs (no incremental KPIs)")
    add("--no-progress", action="store_true")
    args, overrides = parse_command(parser, argv)
    params = [parse_param(p, allow_choices=True) for p in args.param]
    constraints = [parse_constraint(c) for c in args.constraint]
    if args.budget is not None:
        constraints.append(Constraint("campaign_cost_total", "<=", args.budget))
    result = optimize(params, overrides, kpi=args.kpi, direction=args.direction, constraints=constraints,
                      trials=args.trials, seeds=args.seeds, jobs=args.jobs, study_name=args.study, out=args.out,
                      sampler_seed=args.sampler_seed, baseline=not args.no_baseline, progress=not args.no_progress)
    counts = result.history["state"].value_counts().to_dict() if len(result.history) else {}
    lines = [f"study {result.study_name}: {len(result.history)} trials "
             f"({', '.join(f'{v} {k}' for k, v in counts.items())}), {result.ran} run now in {result.elapsed:.1f} s",
             *(f"note: {note}" for note in result.notes)]
    if b := result.best:
        lines += [f"best {b['kpi']} {b['value']:,.6g} (trial {b['trial']}): "
                  + ", ".join(f"{k}={_fmt(v)}" for k, v in b["params"].items()), f"run it: {b['command']}"]
    print("\n".join([*lines, f"outputs: {result.paths['best'].parent}/ (best.json, history.csv, history.png, "
                               "study.db; the jobs in runs/)"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
