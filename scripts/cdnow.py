"""The CDNOW order log (23,570 customers, January 1997 to June 1998) as an order-log CSV.

The full transaction log ships inside the ``lifetimes`` wheel on PyPI
(``lifetimes/datasets/CDNOW_master.txt``: customer id, date YYYYMMDD, CDs, dollars). This
downloads the wheel with pip (no install) and writes ``customer_id,date,amount``::

    python scripts/cdnow.py results/cdnow/orders.csv
    python -m experiments.calibrate data=results/cdnow/orders.csv holdout_from=1997-10-01 out=results/cdnow/fit
    python scripts/cdnow.py --report results/cdnow/fit docs/calibration/cdnow_holdout.png

``--report FIT PNG`` prints the holdout error table of a calibration (markdown, for
docs/calibration.md) and plots the weekly cumulative repeat orders of the holdout:
actual, socialsim with its band, BG/NBD.
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


def main(out: str) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", WHEEL, "--no-deps", "--quiet", "-d", tmp], check=True)
        frame = cdnow_frame(next(Path(tmp).glob("*.whl")))
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, date_format="%Y-%m-%d")
    print(f"{path}: {len(frame):,} orders of {frame['customer_id'].nunique():,} customers, "
          f"{frame['date'].min().date()} to {frame['date'].max().date()}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--report":
        sys.exit(report(*sys.argv[2:4]))
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "results/cdnow/orders.csv"))
