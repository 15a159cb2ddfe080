"""Plots of a batch's ``runs.parquet``: ``python -m experiments.sweep_plots RUNS heatmap|line ...``.

Usage::

    python -m experiments.sweep_plots results/sweeps/grid heatmap --x KEY --y KEY --kpi roi
    python -m experiments.sweep_plots results/sweeps/grid line --x KEY --kpi gmv [--by KEY] [--level 0.9]

``RUNS``: a ``runs.parquet`` (any batch: a sweep, the ``runs/`` of a sensitivity analysis
or an optimization) or its folder; only ``ok`` jobs count. ``heatmap``: the mean KPI in
each cell of two keys (over seeds and every other key that varies, which the title
names). ``line``: the mean KPI against one key with a band for the t-interval over the
runs of each point (``experiments.stats.mean_interval``), one line per value of ``--by``.
Writes ``<plot>_<kpi>_<x>[_<y>].png`` and a ``.csv`` of the plotted numbers beside
``runs.parquet`` (or into ``--out``). Also: the figure and CSV writers of the analyses.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.cli import ArgumentParser, command
from sim.errors import ConfigError


def pyplot():
    """matplotlib's pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: Path) -> Path:
    """The figure as a PNG, written atomically, then closed."""
    from sim.outputs import atomic_write

    try:
        return atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight"))
    finally:
        pyplot().close(fig)


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    from sim.outputs import atomic_write

    return atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False))


def load_runs(path: str | Path) -> tuple[pd.DataFrame, Path]:
    path = Path(path) / "runs.parquet" if Path(path).is_dir() else Path(path)
    if not path.is_file():
        raise ConfigError("runs", str(path), "not found (a batch folder's runs.parquet; "
                                             "python -m experiments.collect DIR writes it)")
    return pd.read_parquet(path), path


def swept_keys(runs: pd.DataFrame) -> list[str]:
    """The override keys of the jobs that are columns, in first-seen order."""
    from experiments.batch import NOT_IN_NAME

    keys = (item.split("=", 1)[0].lstrip("+~") for text in runs.get("overrides", pd.Series(dtype=object)).dropna()
            for item in str(text).split())
    return [k for k in dict.fromkeys(keys) if k not in NOT_IN_NAME and k in runs.columns]


def _ok(runs: pd.DataFrame, kpi: str, **columns: str | None) -> pd.DataFrame:
    """The ok jobs, ``kpi`` numeric; refuses an option naming no column, or a KPI never defined."""
    for option, column in {**columns, "kpi": kpi}.items():
        if column is not None and column not in runs.columns:
            raise ConfigError(f"--{option}", column, "no such column in runs.parquet (swept keys: "
                              f"{', '.join(swept_keys(runs)) or 'none'}; KPIs: gmv, customers, ...)")
    ok = runs[runs["status"] == "ok"].copy() if "status" in runs else runs.copy()
    ok[kpi] = pd.to_numeric(ok[kpi], errors="coerce")
    if ok[kpi].notna().sum() == 0:
        raise ConfigError("--kpi", kpi, "no value in any finished job (undefined, e.g. ROI without a campaign?)")
    return ok


def _sorted(values) -> list:
    try:
        return sorted(values, key=float)
    except (TypeError, ValueError):
        return sorted(values, key=str)


def heatmap_table(runs: pd.DataFrame, x: str, y: str, kpi: str) -> pd.DataFrame:
    """Mean KPI per (y, x) cell: rows y values, columns x values (NaN: no finished job)."""
    ok = _ok(runs, kpi, x=x, y=y)
    if x == y:
        raise ConfigError("--y", y, "must differ from --x")
    table = ok.groupby([y, x], dropna=False)[kpi].mean().unstack(x)
    return table.reindex(index=_sorted(runs[y].dropna().unique()), columns=_sorted(runs[x].dropna().unique()))


def line_table(runs: pd.DataFrame, x: str, kpi: str, by: str | None = None, level: float = 0.95) -> pd.DataFrame:
    """Per x (and ``by``): mean, t-interval low/high over the runs (seeds), n."""
    from experiments.stats import Interval, mean_interval

    if not 0 < level < 1:
        raise ConfigError("--level", level, "must be in (0, 1)")
    ok = _ok(runs, kpi, x=x, by=by)
    groups = [by, x] if by else [x]
    rows = []
    for key, sub in ok.groupby(groups, dropna=False):
        iv = mean_interval(sub[kpi].tolist(), level) or Interval(np.nan, None, None, 0)
        rows.append({**dict(zip(groups, key)), "mean": iv.mean, "low": np.nan if iv.low is None else iv.low,
                     "high": np.nan if iv.high is None else iv.high, "n": iv.n})
    table = pd.DataFrame(rows)
    order = {v: i for i, v in enumerate(_sorted(ok[x].dropna().unique()))}
    return table.sort_values([*([by] if by else []), x], key=lambda s: s.map(order) if s.name == x else s,
                             ignore_index=True)


def _title(runs: pd.DataFrame, text: str, exclude: set[str]) -> str:
    """``text``, and the other keys that vary (averaged over)."""
    others = [k for k in swept_keys(runs) if k not in exclude | {"seed"} and runs[k].nunique(dropna=False) > 1]
    return text + (f"\nalso averaged over: {', '.join(others)}" if others else "")


def plot_heatmap(runs: pd.DataFrame, x: str, y: str, kpi: str):
    table = heatmap_table(runs, x, y, kpi)
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(max(4.5, 0.8 * table.shape[1] + 2.5), max(3.5, 0.55 * table.shape[0] + 2)))
    data = table.to_numpy(dtype=float)
    im = ax.imshow(np.ma.masked_invalid(data), origin="lower", aspect="auto", cmap="viridis")
    ax.set_xticks(range(table.shape[1]), [str(v) for v in table.columns], rotation=45, ha="right")
    ax.set_yticks(range(table.shape[0]), [str(v) for v in table.index])
    ax.set(xlabel=x, ylabel=y)
    fig.colorbar(im, ax=ax, label=f"mean {kpi}")
    finite = data[np.isfinite(data)]
    mid = (finite.min() + finite.max()) / 2 if finite.size else 0
    for (i, j), v in np.ndenumerate(data):
        if np.isfinite(v) and data.size <= 225:
            ax.text(j, i, f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}", ha="center", va="center", fontsize=7,
                    color="white" if v < mid else "black")
    n = int((runs["status"] == "ok").sum()) if "status" in runs else len(runs)
    ax.set_title(_title(runs, f"{kpi}: mean over seeds ({n} runs)", {x, y}), fontsize=10)
    fig.tight_layout()
    return fig, table


def plot_line(runs: pd.DataFrame, x: str, kpi: str, by: str | None = None, level: float = 0.95):
    table = line_table(runs, x, kpi, by, level)
    fig, ax = pyplot().subplots(figsize=(6.5, 4))
    numeric = pd.api.types.is_numeric_dtype(runs[x])
    for label, sub in table.groupby(by, sort=False) if by else [(None, table)]:
        xs = sub[x].to_numpy() if numeric else np.arange(len(sub))
        line, = ax.plot(xs, sub["mean"], marker="o", ms=3, label=None if by is None else f"{by}={label}")
        ax.fill_between(xs, sub["low"].to_numpy(dtype=float), sub["high"].to_numpy(dtype=float),
                        color=line.get_color(), alpha=0.2, lw=0)
        if not numeric:
            ax.set_xticks(xs, [str(v) for v in sub[x]])
    ax.set(xlabel=x, ylabel=kpi)
    n = table["n"]
    text = f"{kpi}: mean and {level:.0%} interval over seeds (n = {n.min()}" + \
        (f"–{n.max()})" if n.max() != n.min() else ")")
    ax.set_title(_title(runs, text, {x, by}), fontsize=10)
    ax.grid(alpha=0.3)
    if by:
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig, table


def main(argv: list[str] | None = None) -> int:
    return command(_main, argv)


def _main(argv: list[str]) -> int:
    parser = ArgumentParser(prog="python -m experiments.sweep_plots", description="Plots of a batch's runs.parquet.")
    parser.add_argument("runs", help="runs.parquet, or the batch folder holding it")
    sub = parser.add_subparsers(dest="plot", required=True)
    hm = sub.add_parser("heatmap", help="mean KPI over two keys")
    hm.add_argument("--y", required=True)
    ln = sub.add_parser("line", help="mean KPI against one key, interval band over seeds")
    ln.add_argument("--by", default=None, help="one line per value of this key")
    ln.add_argument("--level", type=float, default=0.95)
    for p in (hm, ln):
        p.add_argument("--x", required=True)
        p.add_argument("--kpi", default="gmv")
        p.add_argument("--out", default=None, help="folder for the PNG and CSV (default: beside runs.parquet)")
    args = parser.parse_args(argv)
    runs, path = load_runs(args.runs)
    if args.plot == "heatmap":
        fig, table = plot_heatmap(runs, args.x, args.y, args.kpi)
        stem = f"heatmap_{args.kpi}_{args.x}_{args.y}"
    else:
        fig, table = plot_line(runs, args.x, args.kpi, args.by, args.level)
        stem = f"line_{args.kpi}_{args.x}" + (f"_by_{args.by}" if args.by else "")
    out = Path(args.out) if args.out else path.parent
    stem = re.sub(r"[^\w.-]+", "_", stem)
    csv = write_csv(table.reset_index() if table.index.name else table, out / f"{stem}.csv")
    print(f"plot: {save_figure(fig, out / f'{stem}.png')}\ndata: {csv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
