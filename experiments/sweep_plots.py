"""Plots of a collected sweep: ``python -m experiments.sweep_plots RUNS heatmap|line ...``.

Usage::

    python -m experiments.sweep_plots results/sweeps/grid/runs.parquet heatmap \\
        --x campaign.referral.inviter_reward --y campaign.referral.invitee_reward --kpi roi
    python -m experiments.sweep_plots results/sweeps/grid line --x campaign.referral.inviter_reward --kpi gmv
    python -m experiments.sweep_plots results/sweeps/grid line --x diffusion.imitation --kpi customers --by platform

``RUNS`` is a ``runs.parquet`` (``experiments.collect``) or the sweep folder
holding it. Only jobs with ``status == "ok"`` are used.

* ``heatmap``: the mean of ``--kpi`` in each cell of two swept keys ``--x`` and
  ``--y`` (over seeds and every other key that varies, which the title names),
  with the values written in the cells.
* ``line``: the mean of ``--kpi`` against one swept key ``--x``, with the
  ``--level`` (default 0.95) t-interval over seeds as a band (``experiments/stats.py``:
  Student's t over the runs of each point; no band where a point has one run);
  ``--by KEY`` draws one line per value of another key.

Writes ``<plot>_<kpi>_<x>[_<y>].png`` and the plotted numbers as a ``.csv`` of the
same name next to ``runs.parquet`` (or into ``--out``), atomically.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.sweep import NOT_IN_KEY


class PlotError(ValueError):
    """Bad input for a plot: one line for the command line."""


def load_runs(path: str | Path) -> tuple[pd.DataFrame, Path]:
    path = Path(path)
    if path.is_dir():
        path = path / "runs.parquet"
    if not path.exists():
        raise PlotError(f"{path}: not found (collect the sweep first: python -m experiments.collect DIR)")
    return pd.read_parquet(path), path


def swept_keys(runs: pd.DataFrame) -> list[str]:
    """The override keys of the jobs (from the ``overrides`` column), in first-seen order."""
    keys: dict[str, None] = {}
    for text in runs.get("overrides", pd.Series(dtype=object)).dropna():
        for item in str(text).split():
            key = item.split("=", 1)[0].lstrip("+~")
            if key and key not in NOT_IN_KEY and key in runs.columns:
                keys[key] = None
    return list(keys)


def _varying(runs: pd.DataFrame, keys: list[str], exclude: set[str]) -> list[str]:
    return [k for k in keys if k not in exclude and k != "seed" and runs[k].nunique(dropna=False) > 1]


def _check(runs: pd.DataFrame, *columns: str) -> None:
    for c in columns:
        if c not in runs.columns:
            known = ", ".join(swept_keys(runs)) or "none"
            raise PlotError(f"{c}: no such column in runs.parquet (swept keys: {known}; KPIs: gmv, customers, …)")


def _ok(runs: pd.DataFrame, kpi: str) -> pd.DataFrame:
    ok = runs[runs["status"] == "ok"] if "status" in runs else runs
    ok = ok.copy()
    ok[kpi] = pd.to_numeric(ok[kpi], errors="coerce")
    if ok[kpi].notna().sum() == 0:
        raise PlotError(f"{kpi}: no value in any finished job (undefined, e.g. ROI without a campaign?)")
    return ok


def _sort_key(values) -> list:
    try:
        return sorted(values, key=float)
    except (TypeError, ValueError):
        return sorted(values, key=str)


def heatmap_table(runs: pd.DataFrame, x: str, y: str, kpi: str) -> pd.DataFrame:
    """Mean KPI per (y, x) cell: rows y values, columns x values (NaN: no finished job)."""
    _check(runs, x, y, kpi)
    if x == y:
        raise PlotError("--x and --y must be two different keys")
    ok = _ok(runs, kpi)
    table = ok.groupby([y, x], dropna=False)[kpi].mean().unstack(x)
    table = table.reindex(index=_sort_key(runs[y].dropna().unique()), columns=_sort_key(runs[x].dropna().unique()))
    return table


def line_table(runs: pd.DataFrame, x: str, kpi: str, by: str | None = None, level: float = 0.95) -> pd.DataFrame:
    """Per x (and ``by``): mean, t-interval low/high over the runs (seeds), n."""
    from experiments.stats import mean_interval

    _check(runs, x, kpi, *([by] if by else []))
    ok = _ok(runs, kpi)
    rows = []
    groups = [by, x] if by else [x]
    for key, sub in ok.groupby(groups, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        iv = mean_interval(sub[kpi].tolist(), level)
        row = dict(zip(groups, key))
        row.update(mean=iv.mean if iv else np.nan, low=iv.low if iv and iv.low is not None else np.nan,
                   high=iv.high if iv and iv.high is not None else np.nan, n=iv.n if iv else 0)
        rows.append(row)
    table = pd.DataFrame(rows)
    order = {v: i for i, v in enumerate(_sort_key(ok[x].dropna().unique()))}
    table["_o"] = table[x].map(order)
    table = table.sort_values(([by] if by else []) + ["_o"]).drop(columns="_o").reset_index(drop=True)
    return table


def _cell(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"


def _name(text: str) -> str:
    return re.sub(r"[^\w.-]+", "_", text)


def plot_heatmap(runs: pd.DataFrame, x: str, y: str, kpi: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = heatmap_table(runs, x, y, kpi)
    others = _varying(runs, swept_keys(runs), {x, y})
    fig, ax = plt.subplots(figsize=(max(4.5, 0.8 * table.shape[1] + 2.5), max(3.5, 0.55 * table.shape[0] + 2)))
    data = table.to_numpy(dtype=float)
    im = ax.imshow(np.ma.masked_invalid(data), origin="lower", aspect="auto", cmap="viridis")
    ax.set_xticks(range(table.shape[1]), [str(v) for v in table.columns], rotation=45, ha="right")
    ax.set_yticks(range(table.shape[0]), [str(v) for v in table.index])
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    fig.colorbar(im, ax=ax, label=f"mean {kpi}")
    if data.size <= 225:
        finite = data[np.isfinite(data)]
        mid = (finite.min() + finite.max()) / 2 if finite.size else 0
        for (i, j), v in np.ndenumerate(data):
            if np.isfinite(v):
                ax.text(j, i, _cell(v), ha="center", va="center", fontsize=7,
                        color="white" if v < mid else "black")
    n = int(runs[(runs.get("status") == "ok")].shape[0]) if "status" in runs else len(runs)
    title = f"{kpi}: mean over seeds ({n} runs)"
    if others:
        title += f"\nalso averaged over: {', '.join(others)}"
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig, table


def plot_line(runs: pd.DataFrame, x: str, kpi: str, by: str | None = None, level: float = 0.95):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = line_table(runs, x, kpi, by, level)
    others = _varying(runs, swept_keys(runs), {x, *([by] if by else [])})
    fig, ax = plt.subplots(figsize=(6.5, 4))
    groups = list(table.groupby(by, sort=False)) if by else [(None, table)]
    numeric = pd.api.types.is_numeric_dtype(runs[x])
    for label, sub in groups:
        xs = sub[x].to_numpy() if numeric else np.arange(len(sub))
        line, = ax.plot(xs, sub["mean"], marker="o", ms=3, label=None if by is None else f"{by}={label}")
        ax.fill_between(xs, sub["low"].to_numpy(dtype=float), sub["high"].to_numpy(dtype=float),
                        color=line.get_color(), alpha=0.2, lw=0)
        if not numeric:
            ax.set_xticks(xs, [str(v) for v in sub[x]])
    ax.set_xlabel(x)
    ax.set_ylabel(kpi)
    n = table["n"]
    title = f"{kpi}: mean and {level:.0%} interval over seeds (n = {n.min()}" + \
            (f"–{n.max()})" if n.max() != n.min() else ")")
    if others:
        title += f"\nalso averaged over: {', '.join(others)}"
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    if by:
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig, table


def write(fig, table: pd.DataFrame, out_dir: Path, stem: str) -> tuple[Path, Path]:
    from experiments.sensitivity import save_figure, write_csv

    out_dir.mkdir(parents=True, exist_ok=True)
    png = save_figure(fig, out_dir / f"{stem}.png")
    csv = write_csv(table.reset_index() if table.index.name else table, out_dir / f"{stem}.csv")
    return png, csv


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.sweep_plots",
                                     description="Plots of a collected sweep (runs.parquet).")
    parser.add_argument("runs", help="runs.parquet, or the sweep folder holding it")
    sub = parser.add_subparsers(dest="plot", required=True)
    hm = sub.add_parser("heatmap", help="mean KPI over two swept keys")
    hm.add_argument("--x", required=True)
    hm.add_argument("--y", required=True)
    hm.add_argument("--kpi", default="gmv")
    hm.add_argument("--out", default=None, help="folder for the PNG and CSV (default: beside runs.parquet)")
    ln = sub.add_parser("line", help="mean KPI against one swept key, interval band over seeds")
    ln.add_argument("--x", required=True)
    ln.add_argument("--kpi", default="gmv")
    ln.add_argument("--by", default=None, help="one line per value of this key")
    ln.add_argument("--level", type=float, default=0.95)
    ln.add_argument("--out", default=None, help="folder for the PNG and CSV (default: beside runs.parquet)")
    args = parser.parse_args(argv)
    try:
        runs, path = load_runs(args.runs)
        out_dir = Path(args.out) if args.out else path.parent
        if args.plot == "heatmap":
            fig, table = plot_heatmap(runs, args.x, args.y, args.kpi)
            stem = _name(f"heatmap_{args.kpi}_{args.x}_{args.y}")
        else:
            if not 0 < args.level < 1:
                raise PlotError("--level must be in (0, 1)")
            fig, table = plot_line(runs, args.x, args.kpi, args.by, args.level)
            stem = _name(f"line_{args.kpi}_{args.x}" + (f"_by_{args.by}" if args.by else ""))
        png, csv = write(fig, table, out_dir, stem)
    except PlotError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"plot: {png}\ndata: {csv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
