"""Draws from a :class:`~sim.config.Distribution` (trait and product distributions)."""

from __future__ import annotations

import numpy as np

from sim.config import Distribution


def draw(spec: Distribution, size: int, rng: np.random.Generator) -> np.ndarray:
    """``size`` float64 draws of ``spec`` from ``rng``."""
    if spec.dist == "constant":
        return np.full(size, spec.value, dtype=np.float64)
    if spec.dist == "beta":
        return rng.beta(spec.a, spec.b, size)
    if spec.dist == "lognormal":
        return spec.median * np.exp(spec.sigma * rng.standard_normal(size))
    return np.clip(spec.mean + spec.sd * rng.standard_normal(size), spec.low, spec.high)
