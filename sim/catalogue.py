"""The product catalogue: one row per product, prices in integer cents."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.config import MarketConfig
from sim.distributions import draw


@dataclass(eq=False)
class Catalogue:
    """Products as arrays. Money is held in integer cents (fen) so sums are exact."""

    merchant: np.ndarray  # int32, owning merchant of each product
    list_price_cents: np.ndarray  # int64, list price (fen)
    unit_cost_cents: np.ndarray  # int64, unit cost (fen)
    quality: np.ndarray  # float64 in [0, 1], mean realized quality

    @property
    def size(self) -> int:
        return len(self.merchant)

    @property
    def list_price(self) -> np.ndarray:
        """List prices in yuan."""
        return self.list_price_cents / 100.0

    @property
    def reference_price(self) -> float:
        """The consumers' reference price (yuan): the mean list price of the catalogue."""
        return float(self.list_price.mean())

    @classmethod
    def generate(cls, cfg: MarketConfig, rng: np.random.Generator) -> "Catalogue":
        n = cfg.merchants * cfg.products_per_merchant
        merchant = np.repeat(np.arange(cfg.merchants, dtype=np.int32), cfg.products_per_merchant)
        price = np.maximum(np.round(draw(cfg.list_price, n, rng) * 100), 1).astype(np.int64)
        cost = np.round(price * cfg.unit_cost_share).astype(np.int64)
        quality = np.clip(draw(cfg.quality, n, rng), 0.0, 1.0)
        return cls(merchant=merchant, list_price_cents=price, unit_cost_cents=cost, quality=quality)
