"""The platform: one Mesa agent that takes commission and allocates traffic."""

from __future__ import annotations

import mesa
import numpy as np

from sim.config import PlatformConfig


class Platform(mesa.Agent):
    """Takes ``commission_rate`` of every paid amount and decides which products visitors see.

    Traffic allocation (share of visitors shown product j):
    ``uniform``: equal; ``quality``: proportional to quality_j ** strength;
    ``popularity``: proportional to (1 + orders_j) ** strength, updated daily.
    """

    def __init__(self, model: mesa.Model, cfg: PlatformConfig, quality: np.ndarray):
        super().__init__(model)
        self.cfg = cfg
        self.commission_rate = cfg.commission_rate
        self.quality = quality
        self.product_orders = np.zeros(len(quality), dtype=np.int64)
        self.commission_cents = 0
        self.traffic_share = self._allocate()

    def _allocate(self) -> np.ndarray:
        kind, strength = self.cfg.traffic_allocation, self.cfg.allocation_strength
        if kind == "uniform":
            weight = np.ones(len(self.quality))
        elif kind == "quality":
            weight = np.maximum(self.quality, 1e-9) ** strength
        else:
            weight = (1.0 + self.product_orders) ** strength
        return weight / weight.sum()

    def book(self, product: np.ndarray, commission_cents: int) -> None:
        """Record a day's orders (catalogue indices) and commission."""
        self.product_orders += np.bincount(product, minlength=len(self.product_orders))
        self.commission_cents += commission_cents

    def step(self) -> None:
        """End of day: re-allocate traffic for tomorrow."""
        self.traffic_share = self._allocate()
