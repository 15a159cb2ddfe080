"""Quality incident (质量事故) and the merchant's answer to it (危机管理): an event, not a
strategy, for "what if it goes wrong, and what should we do then?".

From ``start_day`` to ``end_day`` the realized quality of the affected products drops by
``quality_drop``; buyers are more often disappointed, so they rate them low (reviews
attach to the product), warn their friends about its merchant, churn more and trust their
own last experience less. It costs nothing by itself.

From ``start_day + response_delay`` the merchant answers (``response``):

* ``silence``: nothing (the default; no cost).
* ``apology``: an apology and a compensation of ``compensation`` yuan to each buyer of an
  affected product disappointed during the incident (then daily, to the new ones). A
  share ``recovery_share`` of the compensated is won back (service recovery: Smith, Bolton
  & Wagner 1999; McCollough, Berry & Yadav 2000): they stop warning, judge the merchant
  satisfied again, and post a follow-up review (追评) of ``recovery_stars``.
* ``recall``: the affected products are withdrawn and fixed (the quality drop ends on the
  response day), every order of an affected product placed until then is
  refunded in full through the order ledger (as a return: net GMV, the merchant's revenue
  and the platform's commission go down; ``MarketModel.refund_orders``), and the
  disappointed are won back as by an apology, without a further compensation.

Randomness only from the mechanism's stream, full length, indexed by consumer.
Equations and keys: docs/scenarios.md (*Quality incident and crisis response*).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scenarios.base import CampaignSettings, Mechanism, check_money, product_mask
from scenarios.registry import register
from sim.errors import ConfigError, check_at_least, check_choice, check_probability

RESPONSES = ("silence", "apology", "recall")


@dataclass(unsafe_hash=True)
class QualityIncidentConfig(CampaignSettings):
    start_day: int | str = 30
    end_day: int | str | None = 44
    quality_drop: float = 0.4  # subtracted from realized quality (quality is on [0, 1])
    products: tuple[int, ...] = ()  # catalogue indices affected; empty = every product
    response: str = "silence"  # silence | apology | recall
    response_delay: int = 3  # days from the incident's start to the merchant's answer
    compensation: float = 20.0  # yuan paid to each disappointed buyer (apology)
    recovery_share: float = 0.5  # share of the compensated (or refunded) disappointed won back, [0, 1]
    recovery_stars: float = 4.0  # stars of a won-back buyer's follow-up review (追评), [1, 5]

    def validate(self, prefix: str) -> None:
        super().validate(prefix)
        if not 0.0 <= self.quality_drop <= 1.0:
            raise ConfigError(f"{prefix}.quality_drop", self.quality_drop, "must be in [0, 1]")
        if any(p < 0 for p in self.products):
            raise ConfigError(f"{prefix}.products", list(self.products), "catalogue indices must be >= 0")
        check_choice(f"{prefix}.response", self.response, RESPONSES)
        check_at_least(f"{prefix}.response_delay", self.response_delay, 0)
        check_money(f"{prefix}.compensation", self.compensation)
        check_probability(f"{prefix}.recovery_share", self.recovery_share)
        if not 1.0 <= self.recovery_stars <= 5.0:
            raise ConfigError(f"{prefix}.recovery_stars", self.recovery_stars, "must be a number of stars in [1, 5]")


@register
class QualityIncident(Mechanism):
    outside_window = frozenset({"on_orders", "end_day"})  # an answer may come after the incident
    option = "quality_incident"
    settings = QualityIncidentConfig
    family = "event"
    DAILY = ("incident_affected_orders", "incident_compensated", "incident_recovered", "incident_refunds")

    def __init__(self, key, cfg, model, index):
        super().__init__(key, cfg, model, index)
        self.affected = product_mask(key, cfg.products, model.catalogue.size)
        self.response_day = cfg.start_day + cfg.response_delay
        self.compensation_cents = int(round(cfg.compensation * 100))
        self.answered = np.zeros(model.n, dtype=bool)  # compensated or refunded already
        self._bought: list[tuple[np.ndarray, ...]] = []  # (buyers, products, ledger rows) of affected orders not answered
        self.refunds_cents = 0

    def answering(self, day: int) -> bool:
        return self.cfg.response != "silence" and day >= self.response_day

    def start_day(self, model) -> None:
        if self.cfg.response == "recall" and model.day >= self.response_day:
            return  # withdrawn and fixed
        model.quality_shift[self.affected] -= self.cfg.quality_drop

    def on_orders(self, model, orders) -> None:
        if not self.running(model.day) or (self.cfg.response == "recall" and model.day > self.response_day):
            return  # after a recall the products are fixed
        hit = self.affected[orders.product]
        self.count("incident_affected_orders", int(hit.sum()))
        if self.cfg.response != "silence" and hit.any():
            self._bought.append((orders.who[hit], orders.product[hit], orders.rows[hit]))

    def end_day(self, model) -> None:
        """The answer, from the response day: to the affected buyers so far, then daily."""
        if not self.answering(model.day) or not self._bought:
            return
        who, product, rows = (np.concatenate(parts) for parts in zip(*self._bought))
        self._bought = []
        c = model.consumers
        u = self.rng.random(model.n)
        if self.cfg.response == "recall":
            before = model.ledger.refunded["refund_cents"]
            model.refund_orders(rows)
            refunded = model.ledger.refunded["refund_cents"] - before
            self.refunds_cents += refunded
            self.count("incident_refunds", refunded / 100)
        who, first = np.unique(who, return_index=True)  # one answer per consumer, for its first affected order
        product = product[first]
        keep = (c.satisfied_last[who] == 0) & ~self.answered[who]
        disappointed, product = who[keep], product[keep]
        if self.cfg.response == "apology":
            paid_mask = self.pay(model, disappointed, np.full(len(disappointed), self.compensation_cents, np.int64),
                                 "compensation")
            disappointed, product = disappointed[paid_mask], product[paid_mask]
            self.count("incident_compensated", len(disappointed))
        self.answered[disappointed] = True
        won = u[disappointed] < self.cfg.recovery_share
        model.win_back(disappointed[won], product[won], self.cfg.recovery_stars)
        self.count("incident_recovered", int(won.sum()))

    def summary(self, model) -> dict:
        t = self.totals
        return {self.summary_name(k): v for k, v in {
            "incident_affected_orders": int(t.get("incident_affected_orders", 0)),
            "incident_compensated": int(t.get("incident_compensated", 0)),
            "incident_recovered": int(t.get("incident_recovered", 0)),
            "incident_refunds": round(float(t.get("incident_refunds", 0.0)), 2),
            "incident_response_cost": (self.spent_cents + self.refunds_cents) / 100,
        }.items()}
