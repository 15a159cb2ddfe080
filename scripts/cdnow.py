"""The CDNOW order log (23,570 customers, January 1997 to June 1998) as an order-log CSV.

The full transaction log ships inside the ``lifetimes`` wheel on PyPI
(``lifetimes/datasets/CDNOW_master.txt``: customer id, date YYYYMMDD, CDs, dollars). This
downloads the wheel with pip (no install) and writes ``customer_id,date,amount``::

    python scripts/cdnow.py results/cdnow/orders.csv
    python -m experiments.calibrate data=results/cdnow/orders.csv holdout_from=1997-10-01 out=results/cdnow/fit
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
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "results/cdnow/orders.csv"))
