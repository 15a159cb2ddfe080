"""Intervals over seeds for ``experiments.compare``.

Each seed is one independent replication of the market, so a KPI measured over
seeds is a sample of its distribution over random markets. The interval of its
mean is Student's t-interval:

    mean ± t_{(1+level)/2, n-1} · s / √n,   s = sample standard deviation (ddof = 1),

with n the number of seeds where the KPI is defined (missing values — ``None``
or NaN, e.g. CAC when no customer was gained — are dropped, not counted as 0).

* n = 0: no interval (``mean_interval`` returns ``None``).
* n = 1: the mean is the value, and the interval is undefined (``low`` and
  ``high`` are ``None``): one seed says nothing about the spread.
* every value equal: s = 0, a zero-width interval at the value.

Paired comparison under common random numbers: seed s is the same market in
every scenario, so scenario B is compared with scenario A through the per-seed
differences d_s = B_s − A_s (over the seeds where both are defined), and the
t-interval of their mean. The pairing removes the market-to-market noise that
both share; the difference is *distinguishable* from zero when its interval
excludes 0 (a two-sided paired t-test at 1 − level). With n < 2, or an
undefined interval, it is not distinguishable.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import NamedTuple

import numpy as np
from scipy import stats as _st


class Interval(NamedTuple):
    """``mean`` and the t-interval ``[low, high]`` over ``n`` non-missing values."""

    mean: float
    low: float | None
    high: float | None
    n: int

    @property
    def half_width(self) -> float | None:
        return None if self.low is None else (self.high - self.low) / 2


class Difference(NamedTuple):
    """Mean paired difference (b − a), its t-interval, n pairs, and whether it excludes 0."""

    mean: float
    low: float | None
    high: float | None
    n: int
    distinguishable: bool


def _values(values: Iterable) -> np.ndarray:
    """Floats with ``None``/NaN/inf dropped."""
    out = np.array([np.nan if v is None else float(v) for v in values], dtype=float)
    return out[np.isfinite(out)]


def t_quantile(level: float, n: int) -> float:
    """t_{(1+level)/2, n-1}: the two-sided critical value for n values."""
    _check_level(level)
    return float(_st.t.ppf((1 + level) / 2, n - 1))


def _check_level(level: float) -> None:
    if not 0 < level < 1:
        raise ValueError(f"level={level!r}: must be in (0, 1)")


def mean_interval(values: Iterable, level: float = 0.95) -> Interval | None:
    """``(mean, low, high, n)`` of the non-missing ``values``; ``None`` if there are none.

    With one value ``low`` and ``high`` are ``None`` (no spread can be estimated).
    """
    _check_level(level)
    x = _values(values)
    n = len(x)
    if n == 0:
        return None
    mean = float(x.mean())
    if n == 1:
        return Interval(mean, None, None, 1)
    half = t_quantile(level, n) * float(x.std(ddof=1)) / math.sqrt(n)
    return Interval(mean, mean - half, mean + half, n)


def paired_difference(a: Iterable, b: Iterable, level: float = 0.95) -> Difference | None:
    """The mean of b_s − a_s over the pairs where both are defined, its t-interval, n, and
    whether the interval excludes 0. ``None`` if no pair is defined."""
    _check_level(level)
    a = np.array([np.nan if v is None else float(v) for v in a], dtype=float)
    b = np.array([np.nan if v is None else float(v) for v in b], dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired values need equal lengths, got {len(a)} and {len(b)}")
    both = np.isfinite(a) & np.isfinite(b)
    interval = mean_interval(b[both] - a[both], level)
    if interval is None:
        return None
    low, high = interval.low, interval.high
    distinguishable = low is not None and (low > 0 or high < 0)
    return Difference(interval.mean, low, high, interval.n, bool(distinguishable))


def band(matrix: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-column mean and t-interval of a (seeds × points) array, NaN ignored.

    Columns with fewer than two values get a NaN band (and a NaN mean if empty).
    """
    _check_level(level)
    m = np.asarray(matrix, dtype=float)
    ok = np.isfinite(m)
    n = ok.sum(axis=0)
    filled = np.where(ok, m, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = filled.sum(axis=0) / n
        dev = np.where(ok, m - mean, 0.0)
        sd = np.sqrt((dev ** 2).sum(axis=0) / (n - 1))
        t = _st.t.ppf((1 + level) / 2, np.maximum(n - 1, 1))
        half = np.where(n >= 2, t * sd / np.sqrt(n), np.nan)
    return mean, mean - half, mean + half
