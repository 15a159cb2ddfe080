"""What a calibration matches: summary statistics of an order log (``targets.parquet``).

From the orders dated in ``[start, end)`` (the calibration period):

* ``daily.<metric>``: per day, ``new_customers`` (customers whose first order in the log
  falls that day), ``orders``, ``repeat_orders`` (orders on a day after the customer's
  first), ``gmv`` (yuan), ``aov`` (gmv / orders) and ``active_customers`` (customers with
  an order in the last 30 days, the day included);
* ``retention``: the purchase-based cohort curve, the share of a first-purchase cohort
  buying again exactly N days after its first purchase, pooled over the cohorts whose
  day N lies inside the period (``x`` = N);
* ``purchases``: the share of customers with k purchase days in the period (``x`` = k;
  the last, ``x`` = :data:`PURCHASES_CAP`, is k or more);
* ``interpurchase``: the share of the gaps between a customer's consecutive purchase days
  falling in each bin (``x`` = the bin's first day, :data:`GAP_BINS`).

A purchase day is a (customer, day) with at least one order, as in BG/NBD. The tidy
table has columns ``target, date, x, value, n`` (``n``: the denominator of a share).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.metrics import purchase_retention

#: The daily series, in the order of the table.
DAILY = ("new_customers", "orders", "repeat_orders", "gmv", "aov", "active_customers")
#: Days of history counted by ``active_customers``.
ACTIVE_DAYS = 30
#: The last class of the purchases-per-customer distribution (k or more).
PURCHASES_CAP = 10
#: First days of the inter-purchase time bins (days between purchase days).
GAP_BINS = (1, 8, 15, 31, 61, 91, 181)


def day_index(dates: pd.Series, start) -> np.ndarray:
    """Days since ``start`` (0 = ``start``)."""
    return ((dates - pd.Timestamp(start)) // pd.Timedelta(days=1)).to_numpy(np.int64)


def daily(orders: pd.DataFrame, start, end, first_day: np.ndarray | None = None) -> pd.DataFrame:
    """The daily series of ``orders`` (columns ``customer, date, amount``) on the days
    ``[start, end)``. ``first_day``: each customer's first order day relative to
    ``start`` (default: from ``orders`` itself, which should then hold every order
    before ``end``)."""
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    n_days = int((end - start) / pd.Timedelta(days=1))
    day = day_index(orders["date"], start)
    customer = orders["customer"].to_numpy(np.int64)
    if first_day is None:
        first_day = first_days(orders, start)
    inside = (day >= 0) & (day < n_days)
    d, c = day[inside], customer[inside]
    orders_per_day = np.bincount(d, minlength=n_days)
    gmv = np.bincount(d, weights=orders["amount"].to_numpy(float)[inside], minlength=n_days)
    repeat = np.bincount(d[d > first_day[c]], minlength=n_days)
    firsts = first_day[np.unique(customer)]
    new = np.bincount(firsts[(firsts >= 0) & (firsts < n_days)], minlength=n_days)
    active = active_customers(day, customer, n_days)
    with np.errstate(invalid="ignore", divide="ignore"):
        aov = np.where(orders_per_day > 0, gmv / np.maximum(orders_per_day, 1), np.nan)
    return pd.DataFrame({"date": pd.date_range(start, periods=n_days, freq="D"), "new_customers": new,
                         "orders": orders_per_day, "repeat_orders": repeat, "gmv": gmv, "aov": aov,
                         "active_customers": active})


def first_days(orders: pd.DataFrame, start) -> np.ndarray:
    """Each customer code's first order day, relative to ``start`` (index = customer code)."""
    customer = orders["customer"].to_numpy(np.int64)
    first = np.full(customer.max() + 1 if len(customer) else 0, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, customer, day_index(orders["date"], start))
    return first


def active_customers(day: np.ndarray, customer: np.ndarray, n_days: int, window: int = ACTIVE_DAYS) -> np.ndarray:
    """Customers with an order in the ``window`` days ending on each day ``0..n_days-1``."""
    pairs = np.unique(np.stack([customer, day]), axis=1)
    order = np.lexsort((pairs[1], pairs[0]))
    c, d = pairs[0][order], pairs[1][order]
    # each purchase day makes its customer active on [d, next purchase day or d + window)
    same = np.r_[c[1:] == c[:-1], False]
    until = np.minimum(d + window, np.where(same, np.r_[d[1:], 0], np.iinfo(np.int64).max))
    delta = np.zeros(n_days + 1, dtype=np.int64)
    starts, stops = np.clip(d, 0, n_days), np.clip(until, 0, n_days)
    np.add.at(delta, starts, 1)
    np.add.at(delta, stops, -1)
    return np.cumsum(delta)[:n_days]


def purchase_days(orders: pd.DataFrame, start, end) -> pd.DataFrame:
    """Unique (customer, day) pairs of the orders in ``[start, end)``, sorted, with the
    customer's first day (``first``)."""
    n_days = int((pd.Timestamp(end) - pd.Timestamp(start)) / pd.Timedelta(days=1))
    day = day_index(orders["date"], start)
    keep = (day >= 0) & (day < n_days)
    pairs = pd.DataFrame({"customer": orders["customer"].to_numpy(np.int64)[keep], "day": day[keep]})
    pairs = pairs.drop_duplicates().sort_values(["customer", "day"]).reset_index(drop=True)
    pairs["first"] = pairs.groupby("customer")["day"].transform("min")
    return pairs


def retention(pairs: pd.DataFrame, n_days: int) -> pd.DataFrame:
    """``x`` = N (1..n_days-1), ``value`` = share of the eligible cohorts buying on day N
    after their first purchase, ``n`` = the eligible customers (:func:`sim.metrics.purchase_retention`)."""
    share, eligible = purchase_retention(pairs["customer"].to_numpy(), pairs["day"].to_numpy(), n_days)
    return pd.DataFrame({"x": np.arange(1, n_days, dtype=float), "value": share[1:], "n": eligible[1:].astype(float)})


def purchases(pairs: pd.DataFrame) -> pd.DataFrame:
    """``x`` = k purchase days (the last class k or more), ``value`` = share of customers."""
    k = np.minimum(pairs.groupby("customer").size().to_numpy(), PURCHASES_CAP)
    counts = np.bincount(k, minlength=PURCHASES_CAP + 1)[1:]
    total = max(len(k), 1)
    return pd.DataFrame({"x": np.arange(1, PURCHASES_CAP + 1, dtype=float), "value": counts / total,
                         "n": float(len(k))})


def interpurchase(pairs: pd.DataFrame) -> pd.DataFrame:
    """``x`` = first day of each gap bin, ``value`` = share of the gaps in it."""
    same = pairs["customer"].to_numpy()[1:] == pairs["customer"].to_numpy()[:-1]
    gaps = np.diff(pairs["day"].to_numpy())[same]
    which = np.searchsorted(GAP_BINS, gaps, side="right") - 1
    counts = np.bincount(which, minlength=len(GAP_BINS))
    return pd.DataFrame({"x": np.array(GAP_BINS, dtype=float), "value": counts / max(len(gaps), 1),
                         "n": float(len(gaps))})


def targets(orders: pd.DataFrame, start, end) -> pd.DataFrame:
    """Every target of the orders dated in ``[start, end)``, tidy: ``target, date, x, value, n``."""
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    n_days = int((end - start) / pd.Timedelta(days=1))
    series = daily(orders, start, end)
    parts = [pd.DataFrame({"target": f"daily.{m}", "date": series["date"], "x": np.nan,
                           "value": series[m].astype(float), "n": np.nan}) for m in DAILY]
    pairs = purchase_days(orders, start, end)
    for name, table in (("retention", retention(pairs, n_days)), ("purchases", purchases(pairs)),
                        ("interpurchase", interpurchase(pairs))):
        parts.append(table.assign(target=name, date=pd.NaT)[["target", "date", "x", "value", "n"]])
    out = pd.concat(parts, ignore_index=True)
    out["date"] = out["date"].astype("datetime64[ns]")
    return out
