"""The CDNOW order log (23,570 customers, January 1997 to June 1998), and its calibration.

The full transaction log ships inside the ``lifetimes`` wheel on PyPI
(``lifetimes/datasets/CDNOW_master.txt``: customer id, date YYYYMMDD, CDs, dollars). This
downloads the wheel with pip (no install), writes ``OUT/orders.csv``
(``customer_id,date,amount``), calibrates the market on the standard split (39 weeks,
holdout from 1997-10-01) into ``OUT/fit/``, prints the holdout error table (markdown, for
docs/calibration.md) and plots the holdout's cumulative repeat orders in
``OUT/cdnow_holdout.png``::

    python scripts/cdnow.py results/cdnow jobs=2          # further key=value: experiments.calibrate's
    python scripts/cdnow.py results/cdnow --log-only      # only the log
"""

from __future__ import annotations

import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pandas as pd

WHEEL = "lifetimes==0.11.3"
MEMBER = "lifetimes/datasets/CDNOW_master.txt"


def cdnow_frame(wheel: Path) -> pd.DataFrame:
    with zipfile.ZipFile(wheel) as z:
        text = z.read(MEMBER).decode()
    raw = pd.read_csv(io.StringIO(text), sep=r"\s+", dtype={"customer_id": str, "date": str})
    return pd.DataFrame({"customer_id": raw["customer_id"], "date": pd.to_datetime(raw["date"], format="%Y%m%d"),
                         "amount": raw["dollar_value"]})


def report(fit: str, png: str) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fit = Path(fit)
    errors = pd.read_csv(fit / "errors.csv")
    rows = errors[(errors["period"] == "holdout") & errors["metric"].isin(["repeat_orders", "active_customers"])]
    print("| model | metric | actual (holdout) | predicted | error of the total | MAPE, weekly cumulative |")
    print("|---|---|---|---|---|---|")
    for r in rows.sort_values(["metric", "model"]).itertuples():
        what = "mean per day" if r.metric == "active_customers" else "total"
        print(f"| {r.model} | {r.metric} ({what}) | {r.total_actual:,.0f} | {r.total_predicted:,.0f} | "
              f"{r.total_error:+.1%} | {r.mape_weekly_cumulative:.1%} |")
    f = pd.read_parquet(fit / "forecast.parquet")
    f = f[(f["metric"] == "repeat_orders") & (f["period"] == "holdout")]
    fig, ax = plt.subplots(figsize=(7, 3.4))
    for model, color in (("socialsim", "tab:blue"), ("bgnbd", "tab:orange")):
        part = f[f["model"] == model].sort_values("date")
        if not len(part):
            continue
        cum = part.set_index("date")[["actual", "predicted", "lower", "upper"]].cumsum().iloc[6::7]
        if model == "socialsim":
            ax.plot(cum.index, cum["actual"], color="black", label="actual")
            ax.fill_between(cum.index, cum["lower"], cum["upper"], color=color, alpha=0.2,
                            label="socialsim band (daily quantiles, summed)")
        ax.plot(cum.index, cum["predicted"], color=color, label=model)
    ax.set_title("CDNOW holdout: cumulative repeat orders, weekly")
    ax.legend(fontsize=8)
    Path(png).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=90, bbox_inches="tight", metadata={"Software": None})
    print(f"plot: {png}")
    return 0


def write_log(folder: Path) -> Path:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", WHEEL, "--no-deps", "--quiet", "-d", tmp], check=True)
        frame = cdnow_frame(next(Path(tmp).glob("*.whl")))
    path = folder / "orders.csv"
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, date_format="%Y-%m-%d")
    print(f"{path}: {len(frame):,} orders of {frame['customer_id'].nunique():,} customers, "
          f"{frame['date'].min().date()} to {frame['date'].max().date()}")
    return path


def main(args: list[str]) -> int:
    if args[:1] == ["--report"]:
        return report(*args[1:3])
    folder = Path(args[0] if args else "results/cdnow")
    log = write_log(folder)
    if "--log-only" in args:
        return 0
    from experiments.calibrate import main as calibrate

    code = calibrate([f"data={log}", "holdout_from=1997-10-01", f"out={folder / 'fit'}", *args[1:]])
    return code or report(str(folder / "fit"), str(folder / "cdnow_holdout.png"))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
