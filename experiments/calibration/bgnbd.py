"""The statistical baseline: BG/NBD (Fader, Hardie & Lee 2005) from pymc-marketing's CLV
module, fitted (MAP) on the customers and purchase days before the holdout, in days.

Its holdout forecasts, as rows ``model=bgnbd`` of ``forecast.parquet``, for the customers
seen before the holdout (customers first seen in the holdout are outside its scope: BG/NBD
forecasts a given customer base):

* ``repeat_orders``: the expected purchase days Σ_i E[X_i(t) | history_i] (the library's
  ``expected_purchases``), differenced by day;
* ``active_customers``: the expected number with a purchase day in the 30 days ending on
  each holdout day. The library's probability of no purchase runs from the end of the
  calibration, not over a window later in the holdout, so it is the mean of
  :func:`simulate_holdout` runs: each customer alive at the holdout with the library's
  P(alive), and, alive, a new BG/NBD customer from then on with the posterior
  λ ~ Gamma(r + x, α + T), p ~ Beta(a, b + x) (dropout happens only after a purchase, so
  the process after T of a customer alive at T is that of a new one with these
  parameters). ``lower``, ``upper``: the runs' quantiles, the process noise at the MAP
  parameters (no parameter uncertainty: MAP gives none).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from experiments.calibration.orderlog import OrderLog
from experiments.calibration.targets import active_customers, daily, purchase_days

#: Simulated holdouts of the active-customer forecast and its bands.
RUNS = 200


def rfm(log: OrderLog, start, holdout) -> pd.DataFrame:
    """``customer_id, frequency, recency, T`` (days) of the customers before ``holdout``,
    with each one's ``last`` purchase day (days since ``start``) and ``n_days`` (the
    calibration's length: the holdout's first day is day ``n_days``)."""
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


@dataclass(frozen=True)
class Posterior:
    """Per customer, what the fitted BG/NBD says of the future: P(alive) at the end of the
    calibration and the posterior of the purchase rate λ ~ Gamma(shape, rate) (per day) and
    the dropout probability p ~ Beta(a, b) given alive."""

    p_alive: np.ndarray
    shape: np.ndarray
    rate: np.ndarray
    a: float
    b: np.ndarray

    @classmethod
    def of(cls, model, data: pd.DataFrame) -> Posterior:
        frame = data[["customer_id", "frequency", "recency", "T"]]
        value = lambda name: float(np.asarray(model.fit_result[name]).mean())
        r, alpha, a, b = (value(k) for k in ("r", "alpha", "a", "b"))
        x, T = frame["frequency"].to_numpy(float), frame["T"].to_numpy(float)
        alive = np.asarray(model.expected_probability_alive(frame)).reshape(-1, len(frame)).mean(axis=0)
        return cls(alive, r + x, alpha + T, a, b + x)


def simulate_holdout(post: Posterior, horizon: int, runs: int, seed: int = 0) -> tuple[np.ndarray, ...]:
    """``runs`` futures of the customers over ``horizon`` holdout days: the purchases as
    ``(run, customer, day)`` arrays (day h: time in [h, h + 1) after the end of the
    calibration). Each customer is alive with ``p_alive``, draws λ and p from its
    posterior, buys at Poisson times of rate λ and drops out after each purchase with
    probability p."""
    rng = np.random.default_rng(seed)
    n = len(post.p_alive)
    alive = rng.random((runs, n)) < post.p_alive
    lam = rng.gamma(post.shape, 1.0 / post.rate, size=(runs, n))[alive]
    p = rng.beta(post.a, post.b, size=(runs, n))[alive]
    run, cust = np.nonzero(alive)
    t = np.zeros(len(run))
    events = []
    while len(run):
        t = t + rng.exponential(1.0, len(t)) / lam
        inside = t < horizon
        run, cust, t, lam, p = run[inside], cust[inside], t[inside], lam[inside], p[inside]
        events.append((run, cust, t.astype(np.int64)))
        stays = rng.random(len(t)) >= p
        run, cust, t, lam, p = run[stays], cust[stays], t[stays], lam[stays], p[stays]
    return tuple(np.concatenate([e[i] for e in events]) if events else np.zeros(0, np.int64) for i in range(3))


def active_in_holdout(events: tuple[np.ndarray, ...], runs: int, last: np.ndarray, n_days: int,
                      horizon: int) -> np.ndarray:
    """``(runs, horizon)``: customers with a purchase day in the 30 days ending on each
    holdout day (:func:`~.targets.active_customers`), from the simulated purchases and each
    customer's ``last`` purchase day of the calibration (days since its start; the
    holdout starts on day ``n_days``)."""
    run, cust, day = events
    history = np.asarray(last, dtype=np.int64) - n_days  # negative: before the holdout
    everyone = np.arange(len(history))
    order = np.argsort(run, kind="stable")
    bounds = np.searchsorted(run[order], np.arange(runs + 1))
    out = np.empty((runs, horizon), dtype=np.int64)
    for r in range(runs):
        at = order[bounds[r]:bounds[r + 1]]
        out[r] = active_customers(np.r_[history, day[at]], np.r_[everyone, cust[at]], horizon)
    return out


def bgnbd_forecast(log: OrderLog, start, holdout, end, level: float = 0.9, runs: int = RUNS) -> pd.DataFrame:
    """The BG/NBD rows of ``forecast.parquet`` for the holdout days ``[holdout, end)``:
    ``repeat_orders`` and ``active_customers``."""
    data = rfm(log, start, holdout)
    model = fit(data)
    frame = data[["customer_id", "frequency", "recency", "T"]]
    horizon = int((pd.Timestamp(end) - pd.Timestamp(holdout)) / pd.Timedelta(days=1))

    def total(values) -> float:
        return float(np.asarray(values).reshape(-1, len(frame)).mean(axis=0).sum())

    cumulative = np.array([0.0] + [total(model.expected_purchases(frame, future_t=int(h)))
                                   for h in range(1, horizon + 1)])
    events = simulate_holdout(Posterior.of(model, data), horizon, runs)
    per_day = np.bincount(events[0] * horizon + events[2], minlength=runs * horizon).reshape(runs, horizon)
    active = active_in_holdout(events, runs, data["last"].to_numpy(), int(data["n_days"].iat[0]), horizon)
    quantiles = [(1 - level) / 2, (1 + level) / 2]
    actual = daily(log.orders, start, end)
    actual = actual[actual["date"] >= pd.Timestamp(holdout)].reset_index(drop=True)
    parts = []
    for metric, predicted, spread in (("repeat_orders", np.diff(cumulative), per_day),
                                      ("active_customers", active.mean(axis=0), active)):
        lower, upper = np.quantile(spread, quantiles, axis=0)
        parts.append(pd.DataFrame({"model": "bgnbd", "date": actual["date"], "metric": metric,
                                   "actual": actual[metric].astype(float), "predicted": predicted,
                                   "lower": lower.astype(float), "upper": upper.astype(float),
                                   "period": "holdout"}))
    return pd.concat(parts, ignore_index=True)
