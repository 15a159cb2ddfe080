"""Daily metrics, the cohort activity table and the run summary.

Retention (classic N-day): a cohort is the consumers whose first purchase fell
on day f; ``retention_dN`` pools the cohorts that can be observed N days later
(f + N <= days) and is  sum_f active(f, f+N) / sum_f cohort_size(f), where
active means visited the platform that day. ``None`` when no cohort is old enough.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

#: Columns of ``metrics.parquet`` (one row per day, state at the end of the day).
DAILY_COLUMNS = (
    "day", "gmv", "orders", "buyers", "new_customers", "repeat_buyers", "active_users",
    "aware", "adopters", "churned", "promoters", "detractors", "kol_posts", "kol_reach",
    "kol_engagements", "discounts", "commission", "merchant_revenue", "margin", "campaign_cost",
)
MONEY_COLUMNS = ("gmv", "discounts", "commission", "merchant_revenue", "margin", "campaign_cost")


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


class MetricsRecorder:
    """Collects one row per day; builds the daily frame and the summary."""

    def __init__(self, days: int, campaign_columns: tuple[str, ...] = ()):
        self.rows: list[dict] = []
        self.cohorts = CohortTable(days)
        self.campaign_columns = tuple(c for c in campaign_columns if c not in DAILY_COLUMNS)
        self.columns = DAILY_COLUMNS + self.campaign_columns

    def record(self, row: dict) -> None:
        missing = set(self.columns) - row.keys()
        if missing:
            raise KeyError(f"daily metrics row lacks {sorted(missing)}")
        self.rows.append(row)

    def frame(self) -> pd.DataFrame:
        """Base columns (counts int64, money float64 yuan), then the campaign columns (float64)."""
        frame = pd.DataFrame(self.rows, columns=list(self.columns))
        return frame.astype({c: "float64" if c in MONEY_COLUMNS or c in self.campaign_columns else "int64"
                             for c in self.columns})
