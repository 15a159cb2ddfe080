"""Quality incident (质量事故): an event, not a strategy, for "what if it goes wrong".

From ``start_day`` to ``end_day`` the realized quality of the affected products
drops by ``quality_drop``; buyers are more often disappointed, so they warn
their friends (negative word of mouth, which weighs ``market.negative_wom_weight``
in everyone's purchase utility), churn more (``market.dissatisfied_churn_multiplier``)
and, as customers, trust their own last experience less. It costs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scenarios.base import CampaignSettings, Mechanism
from scenarios.registry import register
from sim.errors import ConfigError


@dataclass(unsafe_hash=True)
class QualityIncidentConfig(CampaignSettings):
    start_day: int | str = 30
    end_day: int | str | None = 44
    quality_drop: float = 0.4  # subtracted from realized quality (quality is on [0, 1])
    products: tuple[int, ...] = ()  # catalogue indices affected; empty = every product

    def validate(self, prefix: str) -> None:
        super().validate(prefix)
        if not 0.0 <= self.quality_drop <= 1.0:
            raise ConfigError(f"{prefix}.quality_drop", self.quality_drop, "must be in [0, 1]")
        if any(p < 0 for p in self.products):
            raise ConfigError(f"{prefix}.products", list(self.products), "catalogue indices must be >= 0")


@register
class QualityIncident(Mechanism):
    outside_window = frozenset({"on_orders"})
    option = "quality_incident"
    settings = QualityIncidentConfig
    family = "event"
    DAILY = ("incident_affected_orders",)

    def __init__(self, key, cfg, model, index):
        super().__init__(key, cfg, model, index)
        size = model.catalogue.size
        bad = [p for p in cfg.products if p >= size]
        if bad:
            raise ConfigError(f"campaign.{key}.products", list(cfg.products),
                              f"catalogue indices must be < {size} (market.merchants x market.products_per_merchant)")
        self.affected = np.zeros(size, dtype=bool)
        self.affected[list(cfg.products) if cfg.products else slice(None)] = True

    def start_day(self, model) -> None:
        model.quality_shift[self.affected] -= self.cfg.quality_drop

    def on_orders(self, model, orders) -> None:
        if self.running(model.day):
            self.count("incident_affected_orders", int(self.affected[orders.product].sum()))

    def summary(self, model) -> dict:
        return {"incident_affected_orders": int(self.totals.get("incident_affected_orders", 0))}
