"""Returning an order (退换货): after judging it, a buyer sends the order back with a probability
that depends on the channel it was sold through and on whether it satisfied the buyer.
Equations: docs/model.md (*Returns and refunds*)."""

from __future__ import annotations

import numpy as np


def return_probability(channel: np.ndarray, satisfied: np.ndarray, satisfied_rates, dissatisfied_rates,
                       multiplier: float) -> np.ndarray:
    """r = min(1, m_R · r_c^±): ``satisfied_rates[c]`` for a satisfied buyer of channel code ``c``,
    ``dissatisfied_rates[c]`` otherwise, times the platform's ``multiplier`` m_R."""
    sat = np.asarray(satisfied_rates, dtype=np.float64)[channel]
    dis = np.asarray(dissatisfied_rates, dtype=np.float64)[channel]
    return np.minimum(1.0, multiplier * np.where(satisfied, sat, dis))


def returned(u: np.ndarray, prob: np.ndarray) -> np.ndarray:
    """The buyer returns the order when its uniform ``u`` falls below ``prob``."""
    return u < prob
