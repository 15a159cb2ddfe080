"""The statistical baseline: BG/NBD (Fader, Hardie & Lee 2005) from pymc-marketing's CLV
module, fitted (MAP) on the customers and purchase days before the holdout, in days.

Its holdout forecast of ``repeat_orders`` (the expected purchase days of the calibration
customers, Σ_i E[X_i(t)] differenced by day) and ``active_customers`` (a customer is active
on holdout day h if it bought in the 30 days up to h: certain where an observed purchase
is that recent, else P(no purchase in (T, T + h − 30]) − P(no purchase in (T, T + h])),
as rows ``model=bgnbd`` of ``forecast.parquet``. Customers first seen in the holdout are
outside its scope (BG/NBD forecasts a given customer base)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from experiments.calibration.orderlog import OrderLog
from experiments.calibration.targets import ACTIVE_DAYS, daily, purchase_days


def rfm(log: OrderLog, start, holdout) -> pd.DataFrame:
    """``customer_id, frequency, recency, T`` (days) of the customers before ``holdout``."""
    pairs = purchase_days(log.orders, start, holdout)
    n_days = int((pd.Timestamp(holdout) - pd.Timestamp(start)) / pd.Timedelta(days=1))
    g = pairs.groupby("customer")["day"]
    first, last, count = g.min(), g.max(), g.size()
    return pd.DataFrame({"customer_id": first.index.to_numpy(), "frequency": (count - 1).to_numpy(float),
                         "recency": (last - first).to_numpy(float), "T": (n_days - first).to_numpy(float),
                         "last": last.to_numpy(), "n_days": n_days})


def fit(data: pd.DataFrame, seed: int = 0):
    """pymc-marketing's BetaGeoModel fitted by MAP."""
    import logging
    import warnings

    from pymc_marketing.clv import BetaGeoModel

    logging.getLogger("pymc").setLevel(logging.ERROR)
    logging.getLogger("pymc_marketing").setLevel(logging.ERROR)
    model = BetaGeoModel()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(data[["customer_id", "frequency", "recency", "T"]], method="map", progressbar=False,
                  random_seed=seed)
    return model


def bgnbd_forecast(log: OrderLog, start, holdout, end) -> pd.DataFrame:
    """The BG/NBD rows of ``forecast.parquet`` for the holdout days ``[holdout, end)``."""
    data = rfm(log, start, holdout)
    model = fit(data)
    frame = data[["customer_id", "frequency", "recency", "T"]]
    horizon = int((pd.Timestamp(end) - pd.Timestamp(holdout)) / pd.Timedelta(days=1))
    t = np.arange(0, horizon + 1)

    def total(values) -> float:
        return float(np.asarray(values).reshape(-1, len(frame)).mean(axis=0).sum())

    cumulative = np.array([0.0] + [total(model.expected_purchases(frame, future_t=int(h))) for h in t[1:]])
    no_purchase = {}

    def p0(h: int) -> np.ndarray:  # P(no purchase in (T, T + h]) per customer
        if h <= 0:
            return np.ones(len(frame))
        if h not in no_purchase:
            no_purchase[h] = np.asarray(model.expected_probability_no_purchase(h, frame)).reshape(-1, len(frame)).mean(0)
        return no_purchase[h]

    recent_since = data["n_days"].to_numpy() - data["last"].to_numpy()  # days from last purchase to holdout
    active = []
    for h in t[1:]:
        seen = recent_since + h <= ACTIVE_DAYS  # an observed purchase inside the window
        expected = p0(h - ACTIVE_DAYS) - p0(h) if h > ACTIVE_DAYS else 1 - p0(h)
        active.append(float(np.where(seen, 1.0, expected).sum()))
    actual = daily(log.orders, start, end)
    actual = actual[actual["date"] >= pd.Timestamp(holdout)].reset_index(drop=True)
    rows = []
    for metric, predicted in (("repeat_orders", np.diff(cumulative)), ("active_customers", np.array(active))):
        rows.append(pd.DataFrame({"model": "bgnbd", "date": actual["date"], "metric": metric,
                                  "actual": actual[metric].astype(float), "predicted": predicted,
                                  "lower": np.nan, "upper": np.nan, "period": "holdout"}))
    return pd.concat(rows, ignore_index=True)
