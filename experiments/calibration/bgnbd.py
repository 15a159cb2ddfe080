"""The statistical baseline: BG/NBD (Fader, Hardie & Lee 2005) from pymc-marketing's CLV
module, fitted (MAP) on the customers and purchase days before the holdout, in days.

Its holdout forecast of ``repeat_orders``: the expected purchase days of the calibration
customers, Σ_i E[X_i(t) | history_i] (pymc-marketing's ``expected_purchases``), differenced
by day, as rows ``model=bgnbd`` of ``forecast.parquet``. Customers first seen in the holdout
are outside its scope (BG/NBD forecasts a given customer base). Active customers are not
forecast: the library gives the probability of no purchase from the end of calibration
on, not in a 30-day window later in the holdout (what ``active_customers`` counts)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from experiments.calibration.orderlog import OrderLog
from experiments.calibration.targets import daily, purchase_days


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
    """The BG/NBD rows of ``forecast.parquet`` (repeat orders) for the holdout days ``[holdout, end)``."""
    data = rfm(log, start, holdout)
    model = fit(data)
    frame = data[["customer_id", "frequency", "recency", "T"]]
    horizon = int((pd.Timestamp(end) - pd.Timestamp(holdout)) / pd.Timedelta(days=1))
    t = np.arange(0, horizon + 1)

    def total(values) -> float:
        return float(np.asarray(values).reshape(-1, len(frame)).mean(axis=0).sum())

    cumulative = np.array([0.0] + [total(model.expected_purchases(frame, future_t=int(h))) for h in t[1:]])
    actual = daily(log.orders, start, end)
    actual = actual[actual["date"] >= pd.Timestamp(holdout)].reset_index(drop=True)
    return pd.DataFrame({"model": "bgnbd", "date": actual["date"], "metric": "repeat_orders",
                         "actual": actual["repeat_orders"].astype(float), "predicted": np.diff(cumulative),
                         "lower": np.nan, "upper": np.nan, "period": "holdout"})
