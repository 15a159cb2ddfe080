"""Judging a purchase: the realized quality is the product's quality, today's shock and
noise; the buyer is satisfied when it reaches its expectation less a tolerance.
Equations: docs/model.md (*Satisfaction*)."""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri


def realized_quality(quality: np.ndarray, shock: np.ndarray, noise_sd: float, u: np.ndarray) -> np.ndarray:
    """Q_j + shock_j + σ z, with z standard normal by inversion of the buyer's uniform ``u``."""
    return quality + shock + noise_sd * ndtri(u)


def experience_gap(realized: np.ndarray, expectation: np.ndarray, tolerance: float) -> np.ndarray:
    """Realized quality less the buyer's satisfaction threshold (expectation − tolerance),
    quality units: ≥ 0 satisfied."""
    return realized - (expectation - tolerance)


def satisfied(realized: np.ndarray, expectation: np.ndarray, tolerance: float) -> np.ndarray:
    """Satisfied when realized quality ≥ expectation − tolerance."""
    return realized >= expectation - tolerance
