"""The platform: one Mesa agent that takes commission, allocates traffic and personalizes."""

from __future__ import annotations

import mesa
import numpy as np

from sim.config import PlatformConfig


class Platform(mesa.Agent):
    """Takes ``commission_rate`` of every paid amount and decides which products visitors see.

    Traffic allocation (share w_j of visitors shown product j):
    ``uniform``: equal; ``quality``: proportional to quality_j ** strength;
    ``popularity``: proportional to (1 + orders_j) ** strength, updated daily.

    Personalization φ = ``cfg.personalization`` in [0, 1]: a share φ of visitors is shown
    its best match, the product j with the highest purchase probability π_ij at list
    price (within its budget); the others are shown products by the traffic shares.
    The other platform keys (traffic, word of mouth, content, trust, price level,
    social features) act in the model's phases; see ``docs/model.md`` (*The platform*).
    """

    def __init__(self, model: mesa.Model, cfg: PlatformConfig, quality: np.ndarray):
        super().__init__(model)
        self.cfg = cfg
        self.commission_rate = cfg.commission_rate
        self.personalization = cfg.personalization
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

    def show(self, u: np.ndarray, best: np.ndarray | None = None) -> np.ndarray:
        """The product shown to each visitor, from its uniform draw ``u``.

        Without personalization (φ = 0): inverse CDF of the traffic shares at ``u``.
        With φ > 0, ``best`` is each visitor's best match (the product it is likeliest
        to buy, -1 if it would buy none): a visitor with u < φ is shown its best match;
        the others (and best-match visitors with none) are drawn from the traffic shares
        with the rescaled uniform, (u − φ)/(1 − φ) or u/φ, so one draw decides both."""
        share = self.traffic_share
        cumulative = np.cumsum(share)
        phi = self.personalization
        if best is not None and phi > 0:
            matched = u < phi
            u = np.where(matched, u / phi, (u - phi) / (1.0 - phi) if phi < 1 else u)
        drawn = np.minimum(np.searchsorted(cumulative, u * cumulative[-1], side="right"), len(share) - 1)
        if best is None or phi == 0:
            return drawn
        return np.where(matched & (best >= 0), best, drawn)

    def shown_shares(self, best: np.ndarray) -> np.ndarray:
        """(visitors × products): the probability that each visitor is shown each product,
        as :meth:`show` draws it: φ on its best match ``best`` (where it has one, ≥ 0) and
        the rest by the traffic shares."""
        shares = np.tile(self.traffic_share / self.traffic_share.sum(), (len(best), 1))
        matched = best >= 0
        if self.personalization > 0 and matched.any():
            shares[matched] *= 1.0 - self.personalization
            shares[np.flatnonzero(matched), best[matched]] += self.personalization
        return shares

    def book(self, product: np.ndarray, commission_cents: int) -> None:
        """Record a day's orders (catalogue indices) and commission."""
        self.product_orders += np.bincount(product, minlength=len(self.product_orders))
        self.commission_cents += commission_cents

    def refund(self, commission_cents: int) -> None:
        """The commission of refunded orders, given back (their sales still count for traffic)."""
        self.commission_cents -= commission_cents

    def step(self) -> None:
        """End of day: re-allocate traffic for tomorrow."""
        self.traffic_share = self._allocate()
