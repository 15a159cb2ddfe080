"""Talking: after a purchase a buyer may promote (satisfied) or warn (dissatisfied) its
friends, for ``market.wom_days`` days. Equations: docs/model.md (*Word of mouth*)."""

from __future__ import annotations

import numpy as np


def talk_probability(sharing: np.ndarray, wom_multiplier: float, satisfied: np.ndarray,
                     negative_multiplier: float) -> np.ndarray:
    """s_i × the platform's multiplier, × ``negative_multiplier`` for a dissatisfied buyer,
    capped at 1."""
    share = sharing * wom_multiplier
    return np.where(satisfied, np.minimum(1.0, share), np.minimum(1.0, negative_multiplier * share))


def word_of_mouth(talk: np.ndarray, satisfied: np.ndarray, day: int, wom_days: int) -> tuple[np.ndarray, np.ndarray]:
    """(sign, last day) of each buyer's word of mouth: +1 promoting, −1 warning, 0 silent;
    live through ``day + wom_days`` (−1 when silent)."""
    return np.where(talk, np.where(satisfied, 1, -1), 0), np.where(talk, day + wom_days, -1)


def talking(wom_until: np.ndarray, wom_sign: np.ndarray, day: int) -> tuple[np.ndarray, np.ndarray]:
    """Promoters and warners whose word of mouth is live on ``day``."""
    live = wom_until >= day
    return live & (wom_sign > 0), live & (wom_sign < 0)
