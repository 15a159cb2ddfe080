"""Daily metrics, the cohort activity table and the run summary.

Retention (classic N-day): a cohort is the consumers whose first purchase fell
on day f; ``retention_dN`` pools the cohorts that can be observed N days later
(f + N <= days) and is  sum_f active(f, f+N) / sum_f cohort_size(f), where
active means visited the platform that day. ``None`` when no cohort is old enough.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

@dataclass(frozen=True)
class Metric:
    """A daily metric: its column name, unit, dtype in ``metrics.parquet``, and ``scale``
    (money is counted in integer fen, exact, and written in yuan: scale 0.01)."""

    name: str
    unit: str
    dtype: str = "int64"
    scale: float = 1.0
    description: str = ""


def _money(name: str, description: str) -> Metric:
    return Metric(name, "yuan", "float64", 0.01, description)


#: Every column of ``metrics.parquet`` (one row per day, state at the end of the day), declared
#: once. Flows are counted through :meth:`MetricsRecorder.count` during the day; stocks
#: (aware, adopters, ...) are set when the day closes.
DAILY_METRICS = (
    Metric("day", "day", description="day of the run, 1..days"),
    _money("gmv", "order value at list price, before discounts"),
    _money("net_gmv", "GMV less the value of the orders refunded today"),
    Metric("returns", "orders", description="orders returned and refunded today"),
    _money("refunds", "paid amounts refunded today (value - discount of the returned orders)"),
    Metric("orders", "orders"),
    Metric("buyers", "consumers", description="distinct consumers who ordered today"),
    Metric("new_customers", "consumers", description="first purchases today"),
    Metric("repeat_buyers", "orders", description="orders by consumers who had bought before"),
    Metric("active_users", "consumers", description="consumers who visited the platform today"),
    Metric("aware", "consumers", description="aware of the market (cumulative)"),
    Metric("adopters", "consumers", description="ever bought (cumulative)"),
    Metric("churned", "consumers", description="churned (cumulative)"),
    Metric("promoters", "consumers", description="word of mouth live tomorrow, positive"),
    Metric("detractors", "consumers", description="word of mouth live tomorrow, negative"),
    Metric("kol_posts", "posts", description="organic KOL posts"),
    Metric("kol_reach", "exposures", description="follower exposures of organic posts"),
    Metric("kol_engagements", "engagements", description="engaged follower exposures"),
    Metric("reshares", "consumers", description="consumers who reshared a post today (cascades)"),
    Metric("reviews", "reviews", description="reviews written today (they show after reviews.delay_days)"),
    Metric("mean_rating", "stars", "float64", description="mean rating the products show today, 1-5"),
    _money("discounts", "discounts granted on today's orders"),
    _money("commission", "platform commission"),
    _money("merchant_revenue", "GMV - discounts - commission"),
    _money("margin", "merchant revenue - cost of goods"),
    _money("campaign_cost", "campaign spend booked today (discounts and cash)"),
)
DAILY_COLUMNS = tuple(m.name for m in DAILY_METRICS)


class CohortTable:
    """``activity[f, k]``: consumers first buying on day f who were active on day f + k."""

    def __init__(self, days: int):
        self.days = days
        self.size = np.zeros(days + 1, dtype=np.int64)
        self.activity = np.zeros((days + 1, days + 1), dtype=np.int64)

    def add_new_customers(self, day: int, count: int) -> None:
        self.size[day] += count

    def add_active(self, day: int, first_purchase_day: np.ndarray) -> None:
        """Record that customers with these first-purchase days were active on ``day``."""
        counts = np.bincount(first_purchase_day, minlength=day + 1)[: day + 1]
        cohorts = np.flatnonzero(counts)
        self.activity[cohorts, day - cohorts] += counts[cohorts]

    def retention(self, n: int) -> float | None:
        """Classic N-day retention pooled over observable cohorts, or None."""
        if n > self.days - 1:
            return None
        cohorts = np.arange(1, self.days - n + 1)
        denominator = self.size[cohorts].sum()
        if denominator == 0:
            return None
        return float(self.activity[cohorts, n].sum() / denominator)

    def curve(self) -> pd.DataFrame:
        """Retention by days since first purchase: ``day_since, retention, cohort_customers``."""
        rows = []
        for n in range(self.days):
            cohorts = np.arange(1, self.days - n + 1)
            denom = int(self.size[cohorts].sum())
            value = float(self.activity[cohorts, n].sum() / denom) if denom else math.nan
            rows.append((n, value, denom))
        return pd.DataFrame(rows, columns=["day_since", "retention", "cohort_customers"])

    def frame(self) -> pd.DataFrame:
        """The cohort table, long: ``cohort_day, day_since, active, cohort_size``."""
        f, k = np.nonzero(self.activity)
        return pd.DataFrame({"cohort_day": f, "day_since": k, "active": self.activity[f, k],
                             "cohort_size": self.size[f]})


def purchase_retention(customer: np.ndarray, day: np.ndarray, days: int) -> tuple[np.ndarray, np.ndarray]:
    """The purchase-based retention curve of orders by ``customer`` on ``day`` (0..days-1):
    for N = 0..days-1, the share of the first-purchase cohorts buying again exactly N days
    after their first purchase, pooled over the cohorts whose day N is observed (first + N
    <= days - 1), and those cohorts' customers. (The model's own curve counts visits; this
    one counts purchases, as an order log can.)"""
    customer, day = np.asarray(customer, dtype=np.int64), np.asarray(day, dtype=np.int64)
    if not len(customer):
        return np.full(days, np.nan), np.zeros(days, dtype=np.int64)
    first = np.full(customer.max() + 1, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, customer, day)
    pairs = np.unique(customer * (days + 1) + day)  # one purchase day per (customer, day)
    c, d = pairs // (days + 1), pairs % (days + 1)
    since = d - first[c]
    buyers = np.bincount(since, minlength=days)[:days]
    cohort = np.bincount(first[np.unique(c)], minlength=days)[:days]
    eligible = np.cumsum(cohort)[days - 1 - np.arange(days)]
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(eligible > 0, buyers / np.maximum(eligible, 1), np.nan)
    return share, eligible


class MetricsRecorder:
    """One row per day: flows counted during the day (:meth:`count`), stocks set when it
    closes (:meth:`close_day`); builds the daily frame. Campaign columns (float64, in
    the mechanisms' own units) follow the declared metrics."""

    def __init__(self, days: int, campaign_columns: tuple[str, ...] = ()):
        self.cohorts = CohortTable(days)
        self.campaign_columns = tuple(c for c in campaign_columns if c not in DAILY_COLUMNS)
        self.metrics = DAILY_METRICS + tuple(Metric(c, "count", "float64") for c in self.campaign_columns)
        self.columns = tuple(m.name for m in self.metrics)
        self.rows: list[dict] = []
        self.today = dict.fromkeys(self.columns, 0)

    def count(self, name: str, value: float = 1) -> None:
        """Add ``value`` to today's ``name`` (in the metric's counting unit: fen for money)."""
        self.today[name] += value

    def close_day(self, **values: float) -> dict:
        """Set today's stocks, append the row and start the next day; returns the row."""
        unknown = values.keys() - self.today.keys()
        if unknown:
            raise KeyError(f"not a daily metric: {sorted(unknown)}")
        row = {**self.today, **values}
        self.rows.append(row)
        self.today = dict.fromkeys(self.columns, 0)
        return row

    def frame(self) -> pd.DataFrame:
        """One row per day; each column in its declared dtype and unit."""
        frame = pd.DataFrame(self.rows, columns=list(self.columns))
        for m in self.metrics:
            if m.scale != 1.0:
                frame[m.name] = frame[m.name] / round(1 / m.scale)
        return frame.astype({m.name: m.dtype for m in self.metrics})


class MerchantDays:
    """``merchants.parquet``: one row per day and merchant — ``gmv`` (yuan, list price),
    ``orders``, ``rating`` (stars its products show, pooled with their prior), ``reviews``
    (shown, cumulative), ``returns`` (orders refunded that day) and ``refunds`` (yuan)."""

    COLUMNS = ("day", "merchant", "gmv", "orders", "rating", "reviews", "returns", "refunds")

    def __init__(self, merchants: int):
        self.merchants = merchants
        self.gmv_cents = np.zeros(merchants, dtype=np.int64)  # today's
        self.orders = np.zeros(merchants, dtype=np.int64)
        self.returns = np.zeros(merchants, dtype=np.int64)
        self.refund_cents = np.zeros(merchants, dtype=np.int64)
        self._rows: list[dict[str, np.ndarray]] = []

    def book(self, merchant: np.ndarray, value_cents: np.ndarray) -> None:
        """Today's orders of ``merchant`` (one entry per order) worth ``value_cents``."""
        self.gmv_cents += np.bincount(merchant, weights=value_cents, minlength=self.merchants).astype(np.int64)
        self.orders += np.bincount(merchant, minlength=self.merchants)

    def book_refunds(self, merchant: np.ndarray, refund_cents: np.ndarray) -> None:
        """Today's refunds: the merchant of each refunded order and what it paid back (fen)."""
        self.returns += np.bincount(merchant, minlength=self.merchants)
        self.refund_cents += np.bincount(merchant, weights=refund_cents, minlength=self.merchants).astype(np.int64)

    def close_day(self, day: int, rating: np.ndarray, reviews: np.ndarray) -> None:
        m = self.merchants
        self._rows.append({"day": np.full(m, day, dtype=np.int32), "merchant": np.arange(m, dtype=np.int32),
                           "gmv": self.gmv_cents / 100, "orders": self.orders.copy(),
                           "rating": np.asarray(rating, dtype=np.float64), "reviews": np.asarray(reviews, np.int64),
                           "returns": self.returns.copy(), "refunds": self.refund_cents / 100})
        for today in (self.gmv_cents, self.orders, self.returns, self.refund_cents):
            today[:] = 0

    def frame(self) -> pd.DataFrame:
        if not self._rows:
            return pd.DataFrame({c: pd.Series(dtype="float64" if c in ("gmv", "rating", "refunds") else "int64")
                                 for c in self.COLUMNS})
        return pd.DataFrame({c: np.concatenate([r[c] for r in self._rows]) for c in self.COLUMNS})
