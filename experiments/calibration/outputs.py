"""The files of a calibration: ``targets.parquet``, ``forecast.parquet``, ``params.parquet``
(the ensemble), ``intervals.csv``, ``errors.csv``, ``history.csv``, ``fitted.yaml`` and,
last, ``report.html`` (Jinja2, ``experiments/templates/calibration.html.j2``; plots as
base64 PNG). Each is written to a temporary name and renamed."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from markupsafe import Markup  # noqa: E402

from experiments.html_report import png  # noqa: E402
from sim.outputs import atomic_write, write_parquet  # noqa: E402

PLOTTED = ("new_customers", "repeat_orders", "orders", "active_customers")


def write(result, settings: dict) -> dict[str, Path]:
    import yaml

    out = result.folder
    paths = {
        "targets": write_parquet(result.targets, out / "targets.parquet"),
        "forecast": write_parquet(result.forecast, out / "forecast.parquet"),
        "params": write_parquet(result.ensemble, out / "params.parquet"),
    }
    for name, frame in (("intervals", result.intervals), ("errors", result.errors), ("history", result.history)):
        paths[name] = atomic_write(out / f"{name}.csv", lambda tmp, f=frame: f.to_csv(tmp, index=False))
    text = ("# The fitted market (python -m experiments.calibrate): load with preset=THIS_FILE\n"
            + yaml.safe_dump(result.fitted, sort_keys=False))
    paths["fitted"] = atomic_write(out / "fitted.yaml", lambda tmp: tmp.write_text(text, encoding="utf-8"))
    html = render(result, settings)
    paths["report"] = atomic_write(out / "report.html", lambda tmp: tmp.write_text(html, encoding="utf-8"))
    return paths


def weekly(part: pd.DataFrame, stock: bool) -> pd.DataFrame:
    part = part.set_index("date")[["actual", "predicted", "lower", "upper"]]
    return part.resample("W").mean() if stock else part.resample("W").sum(min_count=1)


def forecast_plot(forecast: pd.DataFrame, metric: str, holdout) -> str:
    fig, ax = plt.subplots(figsize=(8, 3.2))
    for model, color in (("socialsim", "tab:blue"), ("bgnbd", "tab:orange")):
        part = forecast[(forecast["model"] == model) & (forecast["metric"] == metric)]
        if not len(part):
            continue
        w = weekly(part, metric == "active_customers")
        ax.plot(w.index, w["predicted"], color=color, label=f"{model} (weekly)")
        if w["lower"].notna().any():
            ax.fill_between(w.index, w["lower"], w["upper"], color=color, alpha=0.2, label=f"{model} band")
        if model == "socialsim":
            ax.plot(w.index, w["actual"], color="black", lw=1, label="actual")
    ax.axvline(pd.Timestamp(holdout), color="grey", ls="--", lw=1)
    ax.set_title(metric.replace("_", " ") + (" (weekly mean)" if metric == "active_customers" else " per week"))
    ax.legend(fontsize=7)
    return png(fig)


def render(result, settings: dict) -> str:
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(loader=PackageLoader("experiments", "templates"), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    holdout = result.forecast.loc[result.forecast["period"] == "holdout", "date"]
    first_holdout = holdout.min() if len(holdout) else result.forecast["date"].max()
    errors = result.errors.copy()
    for col in ("total_error", "mape_weekly_cumulative"):
        errors[col] = errors[col].map(lambda v, signed=col == "total_error": "n/a" if pd.isna(v)
                                      else f"{v:+.1%}" if signed else f"{v:.1%}")
    intervals = result.intervals[["key", "estimate", "lower", "upper", "low", "high", "identified"]]
    context = {
        "title": "Calibration to an order log", "settings": settings, "notes": result.notes,
        "elapsed": result.elapsed, "plots": [(m, forecast_plot(result.forecast, m, first_holdout)) for m in PLOTTED],
        "errors": Markup(errors.to_html(index=False, border=0, float_format=lambda v: f"{v:,.1f}")),
        "intervals": Markup(intervals.to_html(index=False, border=0, float_format=lambda v: f"{v:.4g}")),
        "trials": len(result.history), "best": float(result.history["distance"].min()),
        "fitted": result.fitted,
    }
    return env.get_template("calibration.html.j2").render(context)
