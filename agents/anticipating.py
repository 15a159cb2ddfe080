"""Waiting for an announced sale (strategic consumers): a visitor who knows of a coming
event defers a purchase it would make today, with a probability that rises with the
saving it expects and falls with urgency and with its budget. Equations and sources:
docs/model.md (*Anticipation and pre-sale*)."""

from __future__ import annotations

import numpy as np


def defer_probability(announced_discount: float, price_sensitivity: np.ndarray, price: np.ndarray,
                      reference_price: float, days_to_event: int, patience_days: float, budget: np.ndarray,
                      reference_budget: float, budget_elasticity: float, weight: float, cap: float) -> np.ndarray:
    """P(defer) = min(cap, w · β_i · d · P / P_ref · (B_ref / B_i)^η / (1 + τ / T)).

    ``announced_discount`` d: share of the price the consumer expects off at the event;
    ``price_sensitivity`` β_i and ``price`` P (yuan) against ``reference_price`` P_ref:
    β_i d P / P_ref is the utility the saving is worth in the purchase logit;
    ``days_to_event`` τ (days, >= 1) and ``patience_days`` T (days): waiting τ days
    halves the pull at τ = T (urgency); ``budget`` B_i and ``reference_budget`` B_ref
    (yuan per order) with ``budget_elasticity`` η >= 0: richer consumers care less;
    ``weight`` w >= 0 and ``cap`` in [0, 1]. Zero where d = 0 or w = 0."""
    saving = price_sensitivity * announced_discount * price / reference_price
    budget_term = (reference_budget / budget) ** budget_elasticity
    return np.minimum(cap, weight * saving * budget_term / (1.0 + days_to_event / patience_days))


def still_waiting(waiting: np.ndarray, u: np.ndarray, decay: float) -> np.ndarray:
    """Deferred demand decays: each waiting consumer (mask ``waiting``) gives up with
    probability ``decay`` per day (``u`` its uniform today); returns who still waits."""
    return waiting & (u >= decay)
