"""A short report of one run: PNG plots and a Markdown summary beside the outputs.

``python -m experiments.report RUN_DIR`` rebuilds it from a run's files.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from sim.outputs import atomic_write  # noqa: E402


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    plt.close(fig)
    return path


def plot_gmv(metrics: pd.DataFrame, path: Path, baseline: pd.DataFrame | None = None) -> Path:
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.plot(metrics["day"], metrics["gmv"], color="tab:blue", label="with campaign" if baseline is not None else None)
    if baseline is not None:
        ax.plot(baseline["day"], baseline["gmv"], color="tab:gray", ls="--", label="baseline (no campaign)")
        ax.legend()
    ax.set(xlabel="day", ylabel="GMV (yuan)", title="Daily GMV")
    ax.grid(alpha=0.3)
    return _save(fig, path)


def plot_adopters(metrics: pd.DataFrame, population: int, path: Path, baseline: pd.DataFrame | None = None) -> Path:
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.plot(metrics["day"], metrics["aware"] / population, label="aware", color="tab:gray")
    ax.plot(metrics["day"], metrics["adopters"] / population, label="customers (ever bought)", color="tab:green")
    if baseline is not None:
        ax.plot(baseline["day"], baseline["adopters"] / population, label="customers, baseline",
                color="tab:green", ls="--", alpha=0.7)
    ax.set(xlabel="day", ylabel="share of consumers", title="Cumulative adopters", ylim=(0, 1.02))
    ax.legend()
    ax.grid(alpha=0.3)
    return _save(fig, path)


def plot_retention(curve: pd.DataFrame, path: Path, horizon: int = 60) -> Path:
    fig, ax = plt.subplots(figsize=(7, 3.5))
    shown = curve[(curve["day_since"] >= 1) & (curve["day_since"] <= horizon)].dropna()
    ax.plot(shown["day_since"], shown["retention"], marker=".", color="tab:purple")
    for n in (1, 7, 30):
        row = shown[shown["day_since"] == n]
        if len(row):
            ax.annotate(f"D{n} {row['retention'].iloc[0]:.1%}", (n, row["retention"].iloc[0]),
                        textcoords="offset points", xytext=(4, 6))
    ax.set(xlabel="days since first purchase", ylabel="share of cohort active",
           title="Retention (classic N-day, pooled cohorts)")
    ax.grid(alpha=0.3)
    return _save(fig, path)


def _fmt(value) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.4f}" if 0 < abs(value) < 1 else f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


CAMPAIGN_KEYS = ("campaign_cost_total", "incremental_gmv", "incremental_customers", "incremental_margin",
                 "cac", "roi", "incremental_net_gmv", "incremental_net_margin", "roi_net", "ltv", "baseline_ltv",
                 "k_factor", "team_completion_rate",
                 "coupon_redemption_rate", "kol_reach", "baseline_gmv", "baseline_customers",
                 "festival_prepeak_gmv_ratio", "festival_peak_gmv_ratio", "festival_hangover_gmv_ratio",
                 "festival_prepeak_loss", "festival_hangover_loss", "festival_net_gmv", "festival_deferred",
                 "festival_deferred_bought", "presale_deposits", "presale_orders", "presale_default_rate",
                 "presale_forfeited")


def write_report(out_dir: str | Path) -> list[Path]:
    """Plots and ``report.md`` from ``metrics.parquet``, ``retention.parquet`` and ``summary.json``."""
    out = Path(out_dir)
    metrics = pd.read_parquet(out / "metrics.parquet")
    curve = pd.read_parquet(out / "retention.parquet")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    base_path = out / "baseline" / "metrics.parquet"
    baseline = pd.read_parquet(base_path) if base_path.exists() else None
    plots = [plot_gmv(metrics, out / "gmv.png", baseline),
             plot_adopters(metrics, summary["population"], out / "adopters.png", baseline),
             plot_retention(curve, out / "retention.png")]
    keys = ["gmv", "net_gmv", "orders", "returns", "refunds", "refund_rate", "customers", "aov", "retention_d1",
            "retention_d7", "retention_d30", "platform_commission", "merchant_revenue", "merchant_margin", "reviews",
            "mean_rating", "population", "days"]
    lines = [f"# Run report: scenario `{summary['scenario']}`", "",
             f"{summary['population']:,} consumers on a `{summary['network']}` network "
             f"(mean degree {summary['mean_degree']}), {summary['days']} days, seed {summary['seed']}.", "",
             "| metric | value |", "|---|---|"]
    lines += [f"| {k} | {_fmt(summary.get(k))} |" for k in keys]
    if summary.get("campaigns"):
        lines += ["", f"## Campaign: {', '.join(summary['campaigns'])}", "",
                  "Measured against a baseline run of the same market and seed with the campaign off "
                  "(`baseline/`).", "", "| metric | value |", "|---|---|"]
        for family, cost in summary.get("campaign_cost", {}).items():
            lines.append(f"| cost: {family} | {_fmt(float(cost))} |")
        for k in CAMPAIGN_KEYS:
            if k in summary:
                lines.append(f"| {k} | {_fmt(summary[k])} |")
    lines += ["", "![Daily GMV](gmv.png)", "", "![Cumulative adopters](adopters.png)", "",
              "![Retention](retention.png)", "",
              "Files: `metrics.parquet` (one row per day), `summary.json`, `retention.parquet`, "
              "`cohorts.parquet`, `orders.parquet` (every order and its refund), `config.yaml`.", ""]
    report = atomic_write(out / "report.md", lambda tmp: tmp.write_text("\n".join(lines), encoding="utf-8"))
    return plots + [report]


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m experiments.report RUN_DIR")
    for p in write_report(sys.argv[1]):
        print(p)
