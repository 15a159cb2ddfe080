"""The moments a calibration matches and their distance (``docs/calibration.md``).

From a targets table (:mod:`.targets`), one vector ``m`` in groups:

* ``new_customers``, ``orders``, ``repeat_orders``, ``gmv``: weekly sums of the daily series
  (whole weeks from the first day);
* ``retention``: the purchase-based cohort curve at :data:`RETENTION_DAYS`;
* ``purchases``: the shares of customers with k = 1..10+ purchase days;
* ``interpurchase``: the shares of inter-purchase gaps per bin.

The distance of simulated moments ``s`` to observed ``m`` is
``D = Σ_g w_g / n_g Σ_{i∈g} ((s_i − m_i) / σ_g)²``, σ_g the root mean square of the
observed group (so each group counts as a mean squared relative error), i.e.
``(s − m)ᵀ W (s − m)`` with ``W`` diagonal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

COUNTS = ("new_customers", "orders", "repeat_orders", "gmv")
SHARES = ("retention", "purchases", "interpurchase")
GROUPS = (*COUNTS, *SHARES)
#: Days since the first purchase at which the retention curve is matched.
RETENTION_DAYS = (1, 7, 14, 30, 60, 90, 180, 270)


@dataclass
class Moments:
    """A moment vector: ``values`` and each entry's ``group`` and ``label``."""

    values: np.ndarray
    group: np.ndarray
    label: np.ndarray

    def scaled(self, factor: float) -> Moments:
        """Count groups x ``factor`` (a sample standing for a market ``factor`` times larger)."""
        count = np.isin(self.group, COUNTS)
        return Moments(np.where(count, self.values * factor, self.values), self.group, self.label)


def moments(targets: pd.DataFrame, weeks: int, retention_days: tuple[int, ...]) -> Moments:
    """The moment vector of a targets table: ``weeks`` whole weeks of each count series,
    the retention curve at ``retention_days``, the two distributions."""
    values, group, label = [], [], []
    for name in COUNTS:
        series = targets.loc[targets["target"] == f"daily.{name}", "value"].to_numpy(float)[: weeks * 7]
        series = np.pad(series, (0, weeks * 7 - len(series)))
        values.append(series.reshape(weeks, 7).sum(axis=1))
        group += [name] * weeks
        label += [f"week {w + 1}" for w in range(weeks)]
    ret = targets[targets["target"] == "retention"].set_index("x")["value"]
    values.append(np.array([ret.get(float(n), np.nan) for n in retention_days], dtype=float))
    group += ["retention"] * len(retention_days)
    label += [f"day {n}" for n in retention_days]
    for name in ("purchases", "interpurchase"):
        part = targets[targets["target"] == name]
        values.append(part["value"].to_numpy(float))
        group += [name] * len(part)
        label += [f"{name} {x:g}" for x in part["x"]]
    return Moments(np.nan_to_num(np.concatenate(values)), np.array(group), np.array(label))


def usable_retention_days(targets: pd.DataFrame) -> tuple[int, ...]:
    """The retention days with an eligible cohort in the observed targets."""
    ret = targets[(targets["target"] == "retention") & (targets["n"] > 0)]
    have = set(ret["x"].astype(int))
    return tuple(n for n in RETENTION_DAYS if n in have)


def weights(observed: Moments, group_weights: dict[str, float]) -> np.ndarray:
    """The diagonal of ``W``: w_g / (n_g σ_g²) per entry (0 for a group of zeros)."""
    w = np.zeros(len(observed.values))
    for g in GROUPS:
        at = observed.group == g
        if not at.any():
            continue
        sigma2 = float(np.mean(observed.values[at] ** 2))
        if sigma2 > 0:
            w[at] = float(group_weights.get(g, 0.0)) / (at.sum() * sigma2)
    return w


def distance(simulated: np.ndarray, observed: np.ndarray, w: np.ndarray) -> float:
    d = simulated - observed
    return float(np.sum(w * d * d))
