"""Global sensitivity of KPIs to config keys (SALib): ``python -m experiments.sensitivity``.

Usage::

    python -m experiments.sensitivity --method sobol --n 64 \\
        --param diffusion.innovation=0.002:0.03 --param diffusion.imitation=0.1:0.6 \\
        --param platform.commission_rate=0.02:0.12 --kpi gmv --kpi customers \\
        population.size=5000 days=90
    python -m experiments.sensitivity --method morris --n 20 --param ... campaign=referral ...

``--param KEY=LOW:HIGH`` (repeat; any numeric key of the config, as on the
``experiments.run`` command line; integer bounds make an integer key),
``--kpi NAME`` (repeat; any key of ``summary.json``, nested ones flattened with
``_``; default ``gmv``, ``customers``, ``retention_d30``), ``--method sobol``
(Saltelli/Sobol' sampling, first-order and total indices; ``--n`` a power of 2,
N x (D + 2) samples) or ``morris`` (elementary effects; ``--n`` trajectories,
N x (D + 1) samples, ``--levels``), ``--seeds S`` (each sample is run at seeds
``--seed`` … ``--seed``+S−1 — the same seeds for every sample, common random
numbers — and the KPI is the mean), ``--jobs`` (worker processes, default all
cores), ``--out`` (default ``results/sensitivity/<method>-<time>/``). Every other
argument is a Hydra override of ``experiments.run`` for the base market.

The runs drive the simulation core directly (``build_config`` +
``sim.evaluation.evaluate``), in worker processes, with a progress bar: no
Hydra job per run. Writes ``indices.csv`` (one row per KPI and key: ``S1,
S1_conf, ST, ST_conf`` for Sobol; ``mu, mu_star, mu_star_conf, sigma`` for
Morris), ``samples.csv`` (each sample's keys and mean KPIs), ``runs.csv`` (each
sample x seed), ``indices.png`` and ``problem.json``. Method: ``docs/sweeps.md``.
"""

from __future__ import annotations

import argparse
import copy
import logging
import math
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import ConfigError

DEFAULT_KPIS = ("gmv", "customers", "retention_d30")


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
        if self.choices is not None:
            return value
        return int(round(value)) if self.integer else float(value)


def _number(text: str):
    try:
        return int(text)
    except ValueError:
        return float(text)


def parse_param(text: str, allow_choices: bool = False) -> Param:
    """``diffusion.imitation=0.1:0.6``, ``population.kols.count=5:40``, ``x=1:100:log``,
    (``allow_choices``) ``campaign.referral.reward_form=cash,coupon``."""
    key, sep, spec = text.partition("=")
    key = key.strip()
    if not sep or not key or not spec:
        raise ConfigError("--param", text, "must be KEY=LOW:HIGH, e.g. diffusion.imitation=0.1:0.6")
    if ":" not in spec:
        if allow_choices and "," in spec:
            return Param(key, choices=[_yaml_value(v) for v in spec.split(",")])
        raise ConfigError(key, spec, "must be a range LOW:HIGH" + (" or choices a,b,c" if allow_choices else ""))
    parts = spec.split(":")
    log = len(parts) == 3 and parts[2] == "log"
    if len(parts) != 2 and not log:
        raise ConfigError(key, spec, "must be LOW:HIGH or LOW:HIGH:log")
    try:
        low, high = _number(parts[0]), _number(parts[1])
    except ValueError:
        raise ConfigError(key, spec, "LOW and HIGH must be numbers") from None
    if not (math.isfinite(low) and math.isfinite(high)) or not low < high:
        raise ConfigError(key, spec, "must have LOW < HIGH, both finite")
    if log and low <= 0:
        raise ConfigError(key, spec, "a log range needs LOW > 0")
    return Param(key, float(low), float(high), integer=isinstance(low, int) and isinstance(high, int), log=log)


def _yaml_value(text: str):
    import yaml

    return yaml.safe_load(text)


def base_config(overrides: list[str]) -> dict:
    """The composed, resolved config of ``experiments.run`` with these Hydra overrides,
    as a plain dict (``hydra`` dropped); raises ConfigError on a bad override."""
    from hydra import compose, initialize_config_module
    from hydra.errors import HydraException
    from omegaconf import OmegaConf

    from experiments.compare import _hydra_error

    for o in overrides:
        key = o.split("=", 1)[0].lstrip("+~")
        if key == "hydra" or key.startswith("hydra."):
            raise ConfigError(key, o.split("=", 1)[-1], "hydra.* settings do not apply here (use --out)")
    with initialize_config_module(config_module="conf", version_base="1.3"):
        try:
            cfg = compose(config_name="config", overrides=list(overrides))
        except HydraException as err:
            raise _hydra_error(err, list(overrides)) from None
        data = OmegaConf.to_container(cfg, resolve=True)
    data.pop("hydra", None)
    return data


def with_values(base: dict, values: dict, seed: int | None = None) -> dict:
    """A copy of ``base`` with dotted keys set (``{"diffusion.imitation": 0.3}``)."""
    data = copy.deepcopy(base)
    for key, value in values.items():
        node = data
        parts = key.split(".")
        for part in parts[:-1]:
            if not isinstance(node.get(part), dict):
                raise ConfigError(key, value, f"no such key: '{part}' is not a config group here "
                                              "(a campaign key needs campaign=<option> among the overrides)")
            node = node[part]
        if parts[-1] not in node:
            raise ConfigError(key, value, "no such key (the keys are in docs/model.md)")
        node[parts[-1]] = value
    if seed is not None:
        data["seed"] = int(seed)
    return data


def check_params(base: dict, params: list[Param]) -> None:
    """Every key exists and both ends of every range validate (raises ConfigError)."""
    from experiments.run import to_sim_config

    for p in params:
        ends = p.choices if p.choices is not None else [p.cast(p.low), p.cast(p.high)]
        for value in ends:
            to_sim_config(with_values(base, {p.key: value}))
    if params and all(p.choices is None for p in params):
        for end in ("low", "high"):
            to_sim_config(with_values(base, {p.key: p.cast(getattr(p, end)) for p in params}))


def evaluate_point(base: dict, values: dict, seed: int, baseline: bool = True) -> dict:
    """Simulate one point at one seed; the flat summary (scalars) plus ``wall_seconds``.
    Runs in a worker process."""
    from experiments.collect import flatten
    from experiments.run import to_sim_config
    from sim.evaluation import evaluate

    logging.getLogger("MESA").setLevel(logging.WARNING)
    start = time.perf_counter()
    config = to_sim_config(with_values(base, values, seed))
    summary = evaluate(config, progress=False, with_baseline=baseline).summary()
    out = flatten(summary)
    out["wall_seconds"] = round(time.perf_counter() - start, 3)
    return out


def _task(args):
    tag, base, values, seed, baseline = args
    try:
        return tag, evaluate_point(base, values, seed, baseline), None
    except Exception as err:  # noqa: BLE001 - reported per run, the others go on
        return tag, None, f"{type(err).__name__}: {err}"


def kpi_check(kpis: list[str]):
    """An ``on_result`` for :func:`run_points` that stops at the first run whose summary
    lacks a requested KPI (ConfigError naming the known ones)."""
    state = {"checked": False}

    def check(res):
        flat = res[1]
        if flat is None or state["checked"]:
            return
        state["checked"] = True
        missing = [k for k in kpis if k not in flat]
        if missing:
            known = sorted(k for k, v in flat.items() if v is None or isinstance(v, (int, float)))
            raise ConfigError("--kpi", ",".join(missing), "not in this market's summary (ROI and the "
                              "incremental KPIs need a campaign); known: " + ", ".join(known))

    return check


def run_points(tasks: list[tuple], jobs: int | None = None, progress: bool = True, desc: str = "runs",
               on_result=None) -> list[tuple]:
    """Run ``(tag, base, values, seed, baseline)`` tasks in worker processes (``jobs``;
    1: in this process), with a progress bar; returns ``(tag, flat summary | None,
    error | None)`` in completion order (``on_result`` is called with each)."""
    from tqdm.auto import tqdm

    from experiments.compare import _cores, _mp_context

    jobs = max(1, min(jobs or _cores(), len(tasks) or 1))
    results = []
    bar = tqdm(total=len(tasks), desc=desc, unit="run", disable=not progress, file=sys.stderr, dynamic_ncols=True)

    def done(res):
        results.append(res)
        bar.update(1)
        if res[2] is not None:
            bar.set_postfix_str(f"failed {sum(r[2] is not None for r in results)}")
        if on_result is not None:
            on_result(res)

    try:
        if jobs == 1:
            for task in tasks:
                done(_task(task))
        else:
            with ProcessPoolExecutor(max_workers=jobs, mp_context=_mp_context()) as pool:
                pending = {pool.submit(_task, t) for t in tasks}
                try:
                    while pending:
                        finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                        for fut in finished:
                            done(fut.result())
                except BaseException:
                    for fut in pending:
                        fut.cancel()
                    raise
    finally:
        bar.close()
    return results


def timestamped(root: str) -> Path:
    base = Path(root) / datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    out, k = base, 1
    while out.exists():
        k += 1
        out = base.with_name(f"{base.name}_{k}")
    return out


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    from sim.outputs import atomic_write

    return atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False))


def save_figure(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    from sim.outputs import atomic_write

    def write(tmp):
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")

    try:
        return atomic_write(path, write)
    finally:
        plt.close(fig)


# ---------------------------------------------------------------------------- the analysis
@dataclass
class Sensitivity:
    method: str
    params: list[Param]
    kpis: list[str]
    samples: pd.DataFrame          # one row per sample: keys, mean KPIs
    runs: pd.DataFrame             # one row per sample x seed
    indices: pd.DataFrame          # one row per KPI x key
    notes: list[str] = field(default_factory=list)
    paths: dict[str, Path] = field(default_factory=dict)
    elapsed: float = 0.0


def problem_of(params: list[Param]) -> dict:
    return {"num_vars": len(params), "names": [p.key for p in params],
            "bounds": [[p.low, p.high] for p in params]}


def sample(method: str, params: list[Param], n: int, levels: int = 4, seed: int = 0) -> np.ndarray:
    """The SALib sample (rows: points, columns: keys), before integer rounding."""
    problem = problem_of(params)
    if method == "sobol":
        from SALib.sample import sobol

        return sobol.sample(problem, n, calc_second_order=False, seed=seed)
    from SALib.sample import morris

    return morris.sample(problem, n, num_levels=levels, seed=seed)


def analyse(method: str, params: list[Param], X: np.ndarray, Y: np.ndarray, levels: int = 4,
            seed: int = 0) -> dict:
    problem = problem_of(params)
    if method == "sobol":
        from SALib.analyze import sobol

        res = sobol.analyze(problem, Y, calc_second_order=False, seed=seed)
        return {k: np.asarray(res[k]) for k in ("S1", "S1_conf", "ST", "ST_conf")}
    from SALib.analyze import morris

    res = morris.analyze(problem, X, Y, num_levels=levels, seed=seed)
    return {k: np.asarray(res[k], dtype=float) for k in ("mu", "mu_star", "mu_star_conf", "sigma")}


def sensitivity(params: list[Param], overrides: list[str] = (), *, method: str = "sobol", n: int = 64,
                kpis: list[str] = DEFAULT_KPIS, seeds: int = 1, seed: int = 0, levels: int = 4,
                jobs: int | None = None, baseline: bool = True, progress: bool = True,
                out: str | Path | None = None, write: bool = True) -> Sensitivity:
    """Sample, run every sample at every seed, compute the indices, write the files."""
    if method not in ("sobol", "morris"):
        raise ConfigError("--method", method, "must be sobol or morris")
    if not params:
        raise ConfigError("--param", None, "at least one KEY=LOW:HIGH is needed")
    if len({p.key for p in params}) != len(params):
        raise ConfigError("--param", [p.key for p in params], "a key is given twice")
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise ConfigError("--n", n, "must be an integer >= 2")
    if method == "sobol" and n & (n - 1):
        raise ConfigError("--n", n, "must be a power of 2 for Sobol' sampling (e.g. 32, 64, 128)")
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ConfigError("--seeds", seeds, "must be an integer >= 1")
    kpis = list(kpis)
    base = base_config(list(overrides))
    check_params(base, params)

    X = sample(method, params, n, levels, seed)
    points = [{p.key: p.cast(x) for p, x in zip(params, row)} for row in X]
    seed_list = list(range(int(base.get("seed", 0)), int(base.get("seed", 0)) + seeds))
    tasks = [((i, s), base, values, s, baseline) for i, values in enumerate(points) for s in seed_list]
    start = time.perf_counter()
    results = run_points(tasks, jobs, progress, desc=f"sensitivity ({method})", on_result=kpi_check(kpis))
    elapsed = time.perf_counter() - start

    notes = []
    rows = []
    for (i, s), flat, error in results:
        row = {"sample": i, "seed": s, **points[i], "error": error}
        if flat is not None:
            row.update({k: flat.get(k) for k in kpis})
            row["wall_seconds"] = flat.get("wall_seconds")
        rows.append(row)
    runs = pd.DataFrame(rows).sort_values(["sample", "seed"], ignore_index=True)
    failed = runs["error"].notna().sum()
    if failed:
        notes.append(f"{failed} of {len(runs)} runs failed (first: {runs['error'].dropna().iloc[0]}); "
                     "their samples are left out")
    for k in kpis:
        runs[k] = pd.to_numeric(runs[k], errors="coerce")
    samples = runs.groupby("sample", sort=True).agg({**{p.key: "first" for p in params},
                                                      **{k: "mean" for k in kpis}}).reset_index()

    index_rows = []
    Xr = np.array([[points[i][p.key] for p in params] for i in samples["sample"]], dtype=float)
    for k in kpis:
        Y = samples[k].to_numpy(dtype=float)
        if len(Y) != len(points) or not np.isfinite(Y).all():
            bad = int((~np.isfinite(Y)).sum()) + (len(points) - len(Y))
            notes.append(f"{k}: undefined in {bad} of {len(points)} samples (e.g. ROI without a campaign "
                         "cost, or failed runs): no indices")
            res = {}
        elif np.ptp(Y) == 0:
            notes.append(f"{k}: the same value in every sample: no indices")
            res = {}
        else:
            res = analyse(method, params, Xr, Y, levels, seed)
        for j, p in enumerate(params):
            row = {"kpi": k, "param": p.key, "low": p.low, "high": p.high}
            names = ("S1", "S1_conf", "ST", "ST_conf") if method == "sobol" else ("mu", "mu_star", "mu_star_conf",
                                                                                  "sigma")
            row.update({name: float(res[name][j]) if res else None for name in names})
            index_rows.append(row)
    indices = pd.DataFrame(index_rows)
    result = Sensitivity(method, params, kpis, samples, runs, indices, notes, elapsed=elapsed)
    if write:
        target = Path(out) if out is not None else timestamped(f"results/sensitivity/{method}")
        write_outputs(result, target, overrides=list(overrides), n=n, seeds=seed_list, levels=levels)
    return result


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def plot(result: Sensitivity):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kpis = result.kpis
    fig, axes = plt.subplots(1, len(kpis), figsize=(4.2 * len(kpis) + 1.5, 0.55 * len(result.params) + 2.2),
                             squeeze=False)
    for ax, k in zip(axes[0], kpis):
        sub = result.indices[result.indices["kpi"] == k]
        labels = sub["param"].tolist()
        y = np.arange(len(labels))
        if result.method == "sobol":
            s1 = sub["S1"].astype(float).to_numpy()
            st = sub["ST"].astype(float).to_numpy()
            ax.barh(y - 0.2, s1, height=0.38, xerr=sub["S1_conf"].astype(float).to_numpy(), label="first order S1",
                    color="#4c72b0", capsize=2)
            ax.barh(y + 0.2, st, height=0.38, xerr=sub["ST_conf"].astype(float).to_numpy(), label="total ST",
                    color="#dd8452", capsize=2)
            ax.set_yticks(y, labels)
            ax.axvline(0, color="black", lw=0.6)
            ax.set_xlabel("Sobol' index (95 % interval)")
            ax.invert_yaxis()
        else:
            mu_star = sub["mu_star"].astype(float).to_numpy()
            sigma = sub["sigma"].astype(float).to_numpy()
            ax.errorbar(mu_star, sigma, xerr=sub["mu_star_conf"].astype(float).to_numpy(), fmt="o",
                        color="#4c72b0", capsize=2)
            for xi, yi, lab in zip(mu_star, sigma, labels):
                if np.isfinite(xi) and np.isfinite(yi):
                    ax.annotate(lab, (xi, yi), fontsize=8, xytext=(4, 3), textcoords="offset points")
            ax.set_xlabel("μ* (mean |elementary effect|)")
            ax.set_ylabel("σ (spread: interactions, non-linearity)")
        ax.set_title(k)
        ax.grid(alpha=0.3)
    if result.method == "sobol":
        axes[0][0].legend(loc="lower right", fontsize=8)
    fig.suptitle(f"{'Sobol' if result.method == 'sobol' else 'Morris'} sensitivity, "
                 f"{len(result.samples)} samples x {_plural(result.runs['seed'].nunique(), 'seed')}")
    fig.tight_layout()
    return fig


def write_outputs(result: Sensitivity, out: Path, **settings) -> dict[str, Path]:
    from sim.outputs import write_json

    out = Path(out)
    paths = {
        "runs": write_csv(result.runs, out / "runs.csv"),
        "samples": write_csv(result.samples, out / "samples.csv"),
        "problem": write_json({"method": result.method, "kpis": result.kpis,
                               "params": [{"key": p.key, "low": p.low, "high": p.high, "integer": p.integer}
                                          for p in result.params],
                               "notes": result.notes, "elapsed_s": round(result.elapsed, 1), **settings},
                              out / "problem.json"),
        "plot": save_figure(plot(result), out / "indices.png"),
    }
    paths["indices"] = write_csv(result.indices, out / "indices.csv")  # last: its presence marks a finished run
    result.paths = paths
    return paths


def table_text(result: Sensitivity) -> str:
    cols = ["S1", "ST"] if result.method == "sobol" else ["mu_star", "sigma"]
    lines = []
    for k in result.kpis:
        sub = result.indices[result.indices["kpi"] == k]
        lines.append(f"{k}:")
        for _, r in sub.iterrows():
            vals = "  ".join(f"{c} {r[c]:+.4g}" if r[c] is not None and pd.notna(r[c]) else f"{c} n/a"
                             for c in cols)
            lines.append(f"  {r['param']:<40} {vals}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------- command line
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m experiments.sensitivity",
        description="Sobol' or Morris sensitivity of KPIs to config keys (SALib), driving the simulation core.",
        epilog="Other arguments are Hydra overrides of experiments.run for the base market, "
               "e.g. population.size=5000 days=90 campaign=referral")
    parser.add_argument("--method", choices=("sobol", "morris"), default="sobol")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=LOW:HIGH",
                        help="a config key and its range (repeat)")
    parser.add_argument("--kpi", action="append", default=[], metavar="NAME",
                        help=f"a summary KPI (repeat; default {', '.join(DEFAULT_KPIS)})")
    parser.add_argument("--n", type=int, default=None,
                        help="Sobol: base samples, a power of 2 (default 64); Morris: trajectories (default 20)")
    parser.add_argument("--levels", type=int, default=4, help="Morris grid levels (default 4)")
    parser.add_argument("--seeds", type=int, default=1, help="seeds per sample, mean taken (default 1)")
    parser.add_argument("--jobs", type=int, default=None, help="worker processes (default: all cores)")
    parser.add_argument("--out", default=None, help="output folder (default results/sensitivity/<method>/<time>)")
    parser.add_argument("--sample-seed", type=int, default=0, help="seed of the SALib sample and bootstrap")
    parser.add_argument("--no-baseline", action="store_true", help="skip the no-campaign baseline runs")
    parser.add_argument("--no-progress", action="store_true")
    args, overrides = parser.parse_known_args(argv)
    unknown = [o for o in overrides if o.startswith("-")]
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    n = args.n if args.n is not None else (64 if args.method == "sobol" else 20)
    try:
        params = [parse_param(p) for p in args.param]
        if args.jobs is not None and args.jobs < 1:
            raise ConfigError("--jobs", args.jobs, "must be an integer >= 1")
        d = len(params)
        runs = n * (d + 2 if args.method == "sobol" else d + 1) * args.seeds
        print(f"sensitivity ({args.method}): {d} keys, {runs:,} runs"
              + (f"; overrides: {' '.join(overrides)}" if overrides else ""), file=sys.stderr)
        result = sensitivity(params, overrides, method=args.method, n=n, kpis=args.kpi or list(DEFAULT_KPIS),
                             seeds=args.seeds, seed=args.sample_seed, levels=args.levels, jobs=args.jobs,
                             baseline=not args.no_baseline, progress=not args.no_progress, out=args.out)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(table_text(result))
    for note in result.notes:
        print(f"note: {note}")
    print(f"{len(result.runs):,} runs in {result.elapsed:.1f} s")
    print(f"outputs: {result.paths['indices'].parent}/ (indices.csv, indices.png, samples.csv, runs.csv)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
