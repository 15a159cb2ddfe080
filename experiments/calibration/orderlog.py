"""Reading a merchant's order log (CSV or parquet) into one checked table.

Columns: ``customer_id``, ``date`` (a date or timestamp) and ``amount`` (yuan) are
required; ``product_id``, ``channel``, ``campaign``, ``referrer_id`` and ``refund``
(yuan refunded on that order) are optional. Other names map through ``columns``
(``{"customer_id": "CustomerID"}``). Customer ids may be hashed or opaque: only
equality is used. Every refusal is a :class:`~sim.errors.ConfigError` in one line
naming the column or the row (rows count from 1, the first data row).

A row with a negative amount is a refund line when its ``refund`` is positive: it
counts towards refunds on its date and is not an order. Any other negative amount
is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import ConfigError

REQUIRED = ("customer_id", "date", "amount")
OPTIONAL = ("product_id", "channel", "campaign", "referrer_id", "refund")
COLUMNS = (*REQUIRED, *OPTIONAL)


@dataclass(eq=False)
class OrderLog:
    """A checked order log.

    ``orders``: one row per order, sorted by date, columns ``customer`` (int code of the
    customer id, by order of first appearance), ``date`` (datetime64, the day), ``amount``
    (yuan), ``refund`` (yuan, 0 where none) and the optional columns given.
    ``refund_lines``: the negative-amount refund rows (``date``, ``refund``).
    """

    orders: pd.DataFrame
    refund_lines: pd.DataFrame
    source: str = "<frame>"

    @property
    def first_date(self) -> pd.Timestamp:
        return self.orders["date"].iloc[0]

    @property
    def last_date(self) -> pd.Timestamp:
        return self.orders["date"].iloc[-1]

    @property
    def customers(self) -> int:
        return int(self.orders["customer"].nunique())

    def before(self, date) -> OrderLog:
        """The orders dated before ``date`` (the calibration period)."""
        date = pd.Timestamp(date)
        return OrderLog(self.orders[self.orders["date"] < date].reset_index(drop=True),
                        self.refund_lines[self.refund_lines["date"] < date].reset_index(drop=True), self.source)


def read_order_log(data: str | Path | pd.DataFrame, columns: dict[str, str] | None = None) -> OrderLog:
    """The checked :class:`OrderLog` of a CSV or parquet file, or of a DataFrame.

    ``columns`` maps a schema name to the log's own column name. ConfigError (one line)
    for a missing file or column, unparsable dates, NaN amounts, negative amounts not
    marked as refunds, and an empty log."""
    columns = dict(columns or {})
    for name in columns:
        if name not in COLUMNS:
            raise ConfigError(f"columns.{name}", columns[name], f"unknown column; the schema's: {', '.join(COLUMNS)}")
    frame, source = _read(data)
    for name, given in columns.items():
        if given not in frame.columns and name in REQUIRED:
            raise ConfigError(f"columns.{name}", given, f"no column {given!r} in {source} (its columns: "
                              f"{', '.join(map(str, frame.columns)) or 'none'})")
    frame = frame.drop(columns=[k for k in columns if k in frame.columns and columns[k] != k])
    frame = frame.rename(columns={v: k for k, v in columns.items()})
    for name in REQUIRED:
        if name not in frame.columns:
            given = columns.get(name, name)
            raise ConfigError(f"columns.{name}", given, f"no column {given!r} in {source} (its columns: "
                              f"{', '.join(map(str, frame.columns)) or 'none'}); map yours with columns.{name}=NAME")
    if not len(frame):
        raise ConfigError("data", source, "the order log is empty (no rows)")
    out = pd.DataFrame(index=frame.index)
    if frame["customer_id"].isna().any():
        row = int(np.flatnonzero(frame["customer_id"].isna().to_numpy())[0]) + 1
        raise ConfigError("customer_id", None, f"row {row} of {source}: missing customer id")
    out["customer"] = pd.factorize(frame["customer_id"].astype(str))[0].astype(np.int64)
    out["date"] = _dates(frame["date"], source)
    out["amount"] = _numbers(frame["amount"], "amount", source)
    out["refund"] = _numbers(frame["refund"], "refund", source, missing=0.0) if "refund" in frame else 0.0
    for name in ("product_id", "channel", "campaign", "referrer_id"):
        if name in frame:
            out[name] = frame[name]
    negative = (out["refund"] < 0).to_numpy()
    if negative.any():
        row = int(np.flatnonzero(negative)[0])
        raise ConfigError("refund", float(out["refund"].iat[row]), f"row {row + 1} of {source}: a refund is >= 0 yuan")
    bad = ((out["amount"] < 0) & ~(out["refund"] > 0)).to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ConfigError("amount", float(out["amount"].iat[row]), f"row {row + 1} of {source}: a negative amount "
                          "must be a refund line (a positive refund on the same row)")
    lines = (out["amount"] < 0).to_numpy()
    refund_lines = out.loc[lines, ["date", "refund"]].reset_index(drop=True)
    orders = out.loc[~lines].sort_values(["date", "customer"], kind="stable").reset_index(drop=True)
    if not len(orders):
        raise ConfigError("data", source, "the order log holds no orders (only refund lines)")
    return OrderLog(orders, refund_lines, source)


def _read(data) -> tuple[pd.DataFrame, str]:
    if isinstance(data, pd.DataFrame):
        return data.reset_index(drop=True), "<frame>"
    path = Path(data)
    if not path.is_file():
        raise ConfigError("data", str(path), "no such file (an order log: .csv or .parquet)")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return pd.read_parquet(path), path.name
        if suffix in (".csv", ".txt", ".tsv"):
            return pd.read_csv(path, sep=None if suffix != ".csv" else ",", engine="python"
                               if suffix != ".csv" else "c"), path.name
    except (OSError, ValueError) as err:
        raise ConfigError("data", str(path), f"cannot be read ({' '.join(str(err).split())[:160]})") from None
    raise ConfigError("data", str(path), "must be a .csv or .parquet file")


def _dates(column: pd.Series, source: str) -> pd.Series:
    """Each value as the day it falls on (a date, a timestamp or its ISO text)."""
    if pd.api.types.is_datetime64_any_dtype(column):
        parsed = column
    else:
        parsed = pd.to_datetime(column.astype("string"), errors="coerce", format="mixed")
        if pd.api.types.is_numeric_dtype(column):  # 19970101: a compact date, as CDNOW's
            parsed = pd.to_datetime(column.astype("Int64").astype("string"), errors="coerce", format="%Y%m%d")
    bad = parsed.isna().to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ConfigError("date", None if pd.isna(column.iat[row]) else str(column.iat[row]),
                          f"row {row + 1} of {source}: not a date or timestamp (e.g. 2025-10-28)")
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_localize(None)
    return parsed.dt.normalize().astype("datetime64[ns]")


def _numbers(column: pd.Series, name: str, source: str, missing: float | None = None) -> pd.Series:
    values = pd.to_numeric(column, errors="coerce").astype(float)
    if missing is not None:
        values = values.where(column.notna(), missing)
    bad = ~np.isfinite(values.to_numpy())
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raw = column.iat[row]
        raise ConfigError(name, None if pd.isna(raw) else raw, f"row {row + 1} of {source}: not a number of yuan")
    return values
