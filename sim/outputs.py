"""Writing run outputs atomically: a dot-prefixed temporary file in the same
folder, then ``os.replace``. A killed run never leaves a file that looks
finished, and ``summary.json`` is written last, so its presence marks a
complete run."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` then rename ``tmp_path`` to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def write_parquet(frame: pd.DataFrame, path: str | Path) -> Path:
    return atomic_write(path, lambda tmp: frame.to_parquet(tmp, index=False))


def _json_safe(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if hasattr(value, "item"):  # numpy scalar
        return _json_safe(value.item())
    return value


def read_json(path: str | Path) -> dict | None:
    """A JSON file's content, or None if it is missing or unreadable (e.g. cut short)."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_json(data: dict, path: str | Path) -> Path:
    text = json.dumps(_json_safe(data), indent=2, ensure_ascii=False) + "\n"
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


#: Money columns of the order ledger, in fen, and their names in yuan in ``orders.parquet``.
_ORDER_MONEY = {"value_cents": "value", "discount_cents": "discount", "commission_cents": "commission",
                "refund_cents": "refund"}


def orders_frame(ledger, start_date: str | None = None, campaigns: tuple[str, ...] = (),
                 product_ids: np.ndarray | None = None) -> pd.DataFrame:
    """Every order, one row each (``orders.parquet``), first in the order-log schema that
    ``python -m experiments.calibrate`` reads: ``customer_id`` (the consumer), ``date`` (day
    d is ``start_date`` + d − 1; null without ``start_date``), ``amount`` (yuan paid: value
    − discount), ``product_id``, ``channel`` (the sales channel's name in
    ``sim.config.RETURN_CHANNELS``), ``campaign`` (the key of the mechanism that created
    the order, null for a solo order; ``campaigns`` are the keys in mechanism order;
    ``product_id`` is the catalogue file's id where ``product_ids`` are given),
    ``referrer_id`` (null: not recorded) and ``refund`` (yuan paid back, 0 if kept); then
    the model's own ``day, merchant, quantity, value, discount, commission`` (yuan) and
    ``refund_day`` (-1 if kept)."""
    from sim.config import RETURN_CHANNELS

    frame = ledger.to_frame().drop(columns="merchant_revenue_cents")
    for cents in _ORDER_MONEY:
        frame[cents] = frame[cents] / 100
    frame = frame.rename(columns=_ORDER_MONEY)
    day = frame["day"].to_numpy()
    if start_date is not None:
        date = pd.Timestamp(start_date) + pd.to_timedelta(day.astype(np.int64) - 1, unit="D")
    else:
        date = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
    mechanism = frame["channel"].to_numpy().astype(np.int64)
    names = np.array([None, *campaigns], dtype=object)
    log = pd.DataFrame({
        "customer_id": frame["consumer"], "date": np.asarray(date, dtype="datetime64[ns]"),
        "amount": frame["value"] - frame["discount"],
        "product_id": frame["product"] if product_ids is None else product_ids[frame["product"].to_numpy()],
        "channel": pd.Categorical.from_codes(frame["sales_channel"], categories=list(RETURN_CHANNELS)),
        "campaign": names[np.minimum(mechanism, len(names) - 1)] if len(frame) else np.array([], dtype=object),
        "referrer_id": pd.array([pd.NA] * len(frame), dtype="Int64"), "refund": frame["refund"]})
    own = frame[["day", "merchant", "quantity", "value", "discount", "commission", "refund_day"]]
    return pd.concat([log, own], axis=1)


def retention_frame(model) -> pd.DataFrame:
    """``retention.parquet``: the model's visit-based curve (``day_since, retention,
    cohort_customers``) and beside it the purchase-based one an order log gives
    (``purchase_retention``, ``purchase_cohort_customers``; :func:`sim.metrics.purchase_retention`)."""
    from sim.metrics import purchase_retention

    curve = model.metrics.cohorts.curve()
    days = model.config.days
    share, eligible = purchase_retention(model.ledger.column("consumer"), model.ledger.column("day") - 1, days)
    curve["purchase_retention"] = share[: len(curve)]
    curve["purchase_cohort_customers"] = eligible[: len(curve)]
    return curve


def write_run(model, out_dir: str | Path, extra_summary: dict | None = None, orders: bool = True) -> dict[str, Path]:
    """Write a finished model's outputs into ``out_dir``; returns the paths.

    ``metrics.parquet`` (one row per day; a ``date`` column where ``start_date`` is set), ``retention.parquet`` (retention by
    day since first purchase), ``cohorts.parquet`` (cohort x day-since activity),
    ``merchants.parquet`` (one row per day and merchant: GMV, orders, rating, reviews),
    ``orders.parquet`` (every order and its refund, unless ``orders`` is false),
    ``payments.parquet`` (campaign cash outlays, with a campaign), ``cascades.parquet``
    (reshare cascades, where there were any) and, last,
    ``summary.json``.
    """
    out = Path(out_dir)
    metrics = model.metrics.frame()
    if model.config.start_date is not None:  # the calendar date of each day
        from sim.calendar import dates

        metrics.insert(1, "date", pd.to_datetime(dates(model.config.start_date, len(metrics))))
    paths = {
        "metrics": write_parquet(metrics, out / "metrics.parquet"),
        "retention": write_parquet(retention_frame(model), out / "retention.parquet"),
        "cohorts": write_parquet(model.metrics.cohorts.frame(), out / "cohorts.parquet"),
    }
    if orders:
        paths["orders"] = write_parquet(orders_frame(model.ledger, model.config.start_date,
                                                     tuple(m.key for m in model.mechanisms), model.catalogue.product_ids),
                                        out / "orders.parquet")
    if model.mechanisms:
        paths["payments"] = write_parquet(model.payments.to_frame(), out / "payments.parquet")
    paths["merchants"] = write_parquet(model.merchant_days.frame(), out / "merchants.parquet")
    if model.cascades:
        paths["cascades"] = write_parquet(model.cascades_frame(), out / "cascades.parquet")
    summary = model.summary()
    summary.update(extra_summary or {})
    paths["summary"] = write_json(summary, out / "summary.json")
    return paths


def flatten(summary: dict, prefix: str = "") -> dict:
    """Scalars of a summary; nested dicts become ``key_sub``; lists are dropped except
    ``campaigns`` (joined with '+')."""
    out: dict = {}
    for key, value in summary.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}_"))
        elif isinstance(value, (list, tuple)):
            if name == "campaigns":
                out[name] = "+".join(map(str, value))
        elif value is None or isinstance(value, (bool, int, float, str, np.integer, np.floating)):
            out[name] = value.item() if hasattr(value, "item") else value
    return out
