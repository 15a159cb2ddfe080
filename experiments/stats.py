"""Intervals over seeds for ``experiments.compare``, from ``scipy.stats``.

Each seed is one independent replication of the market, so a KPI measured over
seeds is a sample of its distribution over random markets. The interval of its
mean is Student's t-interval (``scipy.stats.t.interval``):

    mean ± t_{(1+level)/2, n-1} · s / √n,   s = sample standard deviation (ddof = 1),

with n the number of seeds where the KPI is defined (missing values, ``None``,
NaN or inf, e.g. CAC when no customer was gained, are dropped, not counted as 0).

* n = 0: no interval (``mean_interval`` returns ``None``).
* n = 1: the mean is the value, and the interval is undefined (``low`` and
  ``high`` are ``None``): one seed says nothing about the spread.
* every value equal: s = 0, a zero-width interval at the value.

Paired comparison under common random numbers: seed s is the same market in
every scenario, so scenario B is compared with scenario A through the per-seed
differences d_s = B_s − A_s (over the seeds where both are defined), and the
t-interval of their mean (the interval of ``scipy.stats.ttest_rel``). The
difference is *distinguishable* from zero when its interval excludes 0 (a
two-sided paired t-test at 1 − level); with n < 2 it is not.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import NamedTuple

import numpy as np
from scipy import stats


class Interval(NamedTuple):
    """``mean`` and the t-interval ``[low, high]`` over ``n`` non-missing values (units of the values)."""

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


def check_level(level: float) -> None:
    if not 0 < level < 1:
        raise ValueError(f"level={level!r}: must be in (0, 1)")


def as_floats(values: Iterable) -> np.ndarray:
    """The values as floats, ``None`` as NaN."""
    return np.array([np.nan if v is None else float(v) for v in values], dtype=float)


def t_interval(mean, sem, n, level: float) -> tuple[np.ndarray, np.ndarray]:
    """``(low, high)`` of the t-interval (``scipy.stats.t.interval``, arrays or scalars):
    zero-width where ``sem`` is 0, NaN where n < 2."""
    mean, sem, n = np.asarray(mean, dtype=float), np.asarray(sem, dtype=float), np.asarray(n)
    low, high = stats.t.interval(level, np.maximum(n - 1, 1), loc=mean, scale=np.where(sem > 0, sem, 1.0))
    defined = (n >= 2) & np.isfinite(sem)
    return (np.where(defined, np.where(sem > 0, low, mean), np.nan),
            np.where(defined, np.where(sem > 0, high, mean), np.nan))


def mean_interval(values: Iterable, level: float = 0.95) -> Interval | None:
    """``(mean, low, high, n)`` of the finite ``values``; ``None`` if there are none.
    With one value ``low`` and ``high`` are ``None`` (no spread can be estimated)."""
    check_level(level)
    x = as_floats(values)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return None
    mean = float(x.mean())
    if x.size == 1:
        return Interval(mean, None, None, 1)
    low, high = t_interval(mean, 0.0 if np.ptp(x) == 0 else x.std(ddof=1) / np.sqrt(x.size), x.size, level)
    return Interval(mean, float(low), float(high), int(x.size))


def paired_difference(a: Iterable, b: Iterable, level: float = 0.95) -> Difference | None:
    """The mean of b_s − a_s over the pairs where both are defined, its t-interval, n, and
    whether the interval excludes 0. ``None`` if no pair is defined."""
    a, b = as_floats(a), as_floats(b)
    if a.shape != b.shape:
        raise ValueError(f"paired values need equal lengths, got {len(a)} and {len(b)}")
    both = np.isfinite(a) & np.isfinite(b)
    iv = mean_interval(b[both] - a[both], level)
    if iv is None:
        return None
    return Difference(*iv, distinguishable=iv.low is not None and (iv.low > 0 or iv.high < 0))


def band(matrix: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-column mean and t-interval of a (seeds × points) array, NaN ignored: a plot's band.
    Columns with fewer than two values get a NaN band (and a NaN mean if empty)."""
    check_level(level)
    m = np.asarray(matrix, dtype=float)
    n = np.isfinite(m).sum(axis=0)
    with warnings.catch_warnings():  # empty columns: NaN, said by the docstring, not by a warning
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(m, axis=0)
        sem = np.nanstd(m, axis=0, ddof=1) / np.sqrt(n)
    return (mean, *t_interval(mean, sem, n, level))
