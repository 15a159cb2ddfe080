"""Churning: a customer leaves for good with a daily hazard, higher after a bad experience.
Equations: docs/model.md (*Churn*)."""

from __future__ import annotations

import numpy as np


def churn_hazard(base: float, satisfied_last: np.ndarray, dissatisfied_multiplier: float) -> np.ndarray:
    """h = ``market.churn_hazard``, × ``dissatisfied_churn_multiplier`` if the last purchase
    disappointed (probability per day)."""
    return base * np.where(satisfied_last == 0, dissatisfied_multiplier, 1.0)
