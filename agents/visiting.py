"""Visiting the platform: an aware consumer who has not churned visits with a daily
probability that is highest just after a purchase and decays towards a floor; a
prospect (aware, never bought) visits at a constant rate. Equations: docs/model.md (*Visits*)."""

from __future__ import annotations

import numpy as np


def customer_visit_curve(floor: float, peak: float, decay_days: float, days: int) -> np.ndarray:
    """Visit probability by days since the last purchase, index 0 = the day after:
    floor + (peak − floor) e^{−k / decay_days}."""
    since = np.arange(days + 2)
    return floor + (peak - floor) * np.exp(-since / decay_days)


def visit_probability(last_purchase_day: np.ndarray, day: int, curve: np.ndarray, prospect: float,
                      forced: np.ndarray, weekday: float = 1.0, propensity: np.ndarray | None = None) -> np.ndarray:
    """Each consumer's probability of visiting today: from the curve times its own
    ``propensity`` for customers, the prospect rate for the others, times today's
    ``weekday`` multiplier (capped at 1); 1 where ``forced`` (heard today, touched by a KOL
    today, or clicked a campaign link)."""
    customer = curve[np.maximum(day - last_purchase_day - 1, 0)]
    if propensity is not None:
        customer = np.minimum(customer * propensity, 1.0)
    prob = np.where(last_purchase_day >= 0, customer, prospect)
    if weekday != 1.0:
        prob = np.minimum(prob * weekday, 1.0)
    prob[forced] = 1.0
    return prob
