"""Merchants: Mesa agents owning a slice of the catalogue."""

from __future__ import annotations

import mesa
import numpy as np


class Merchant(mesa.Agent):
    """A merchant with ``products`` (catalogue indices) and running sales totals (cents)."""

    def __init__(self, model: mesa.Model, index: int, products: np.ndarray):
        super().__init__(model)
        self.index = index
        self.products = products
        self.orders = 0
        self.revenue_cents = 0  # paid amounts less platform commission
        self.cost_cents = 0  # unit costs of the goods sold (and kept: returned goods come back)
        self.returns = 0  # orders returned and refunded

    @property
    def margin_cents(self) -> int:
        return self.revenue_cents - self.cost_cents

    def book(self, orders: int, revenue_cents: int, cost_cents: int) -> None:
        self.orders += orders
        self.revenue_cents += revenue_cents
        self.cost_cents += cost_cents

    def refund(self, returns: int, revenue_cents: int, cost_cents: int) -> None:
        """Returned orders: their revenue given back, their goods back in stock."""
        self.returns += returns
        self.revenue_cents -= revenue_cents
        self.cost_cents -= cost_cents
