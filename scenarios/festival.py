"""Festival peak (Double-11 style, 双十一): the platform's traffic surge and the hangover after it.

One option, ``festival`` (family ``event``): an event of the platform, not a
merchant's strategy, so it costs the campaign nothing. It is the part of a
festival the other mechanisms do not have; the price side (warm-up coupons, the
peak-day discount) is the pricing options with windows (``conf/scenario/festival_peak.yaml``).

* **Traffic surge.** On every peak day (``start_day`` .. ``end_day``) each aware,
  not churned, targeted consumer visits with probability ``visit_prob``
  (``model.visit_boost``), and each unaware targeted consumer hears of the market
  with probability ``awareness_prob`` (source ads: platform-wide festival
  advertising); a consumer who becomes aware visits that day.
* **Hangover.** A consumer who bought on a peak day has stocked up: for
  ``hangover_days`` days after the last peak day its purchase utility is lowered
  by ``hangover_utility`` (demand pulled forward).

Equations, keys and metrics: ``docs/scenarios.md`` (Festival peak). Randomness
only from the mechanism's stream, full length, indexed by consumer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from agents.consumers import SOURCE_ADS
from scenarios.base import CampaignSettings, Mechanism
from scenarios.registry import register
from sim.errors import check_at_least, check_non_negative, check_probability


@dataclass(unsafe_hash=True)
class FestivalConfig(CampaignSettings):
    start_day: int = 30  # first peak day
    end_day: int | None = 30  # last peak day (inclusive); null = to the end of the run (no hangover)
    visit_prob: float = 0.3  # P(an aware, not churned, targeted consumer visits on a peak day)
    awareness_prob: float = 0.01  # P(an unaware targeted consumer hears of the market on a peak day)
    hangover_days: int = 7  # days after the last peak day with lower utility for peak buyers
    hangover_utility: float = 1.5  # purchase utility subtracted for peak buyers during the hangover (>= 0)

    def validate(self, prefix: str) -> None:
        super().validate(prefix)
        check_probability(f"{prefix}.visit_prob", self.visit_prob)
        check_probability(f"{prefix}.awareness_prob", self.awareness_prob)
        check_at_least(f"{prefix}.hangover_days", self.hangover_days, 0)
        check_non_negative(f"{prefix}.hangover_utility", self.hangover_utility)


@register
class Festival(Mechanism):
    outside_window = frozenset({"on_orders"})
    option = "festival"
    settings = FestivalConfig
    family = "event"
    DAILY = ("festival_surge_visits", "festival_new_aware", "festival_peak_orders", "festival_hangover_visitors")

    def __init__(self, key, cfg: FestivalConfig, model, index):
        super().__init__(key, cfg, model, index)
        self.peak_buyer = np.zeros(model.n, dtype=bool)  # bought on a peak day
        self.peak_gmv_cents = 0

    def peak(self, day: int) -> bool:
        end = self.cfg.end_day if self.cfg.end_day is not None else math.inf
        return self.cfg.start_day <= day <= end

    def hangover(self, day: int) -> bool:
        end = self.cfg.end_day
        return end is not None and end < day <= end + self.cfg.hangover_days

    def running(self, day: int) -> bool:
        """The peak days and the hangover after them."""
        return self.peak(day) or self.hangover(day)

    def outreach(self, model) -> None:
        if not self.peak(model.day):
            return
        cfg, c = self.cfg, model.consumers
        u_aware = self.rng.random(model.n)
        u_visit = self.rng.random(model.n)
        unaware = np.flatnonzero(~c.aware & (u_aware < cfg.awareness_prob))
        new = model.make_aware(unaware[self.targeted(model, unaware)], SOURCE_ADS)  # they visit today
        surge = np.flatnonzero(c.aware & ~c.churned & (u_visit < cfg.visit_prob) & (c.aware_day != model.day))
        surge = surge[self.targeted(model, surge)]
        model.visit_boost[surge] = True
        self.count("festival_new_aware", len(new))
        self.count("festival_surge_visits", len(surge))

    def adjust_offer(self, model, offer) -> None:
        if self.cfg.hangover_utility == 0 or not self.hangover(model.day):
            return
        stocked = self.peak_buyer[offer.who]
        offer.utility_shift[stocked] -= self.cfg.hangover_utility
        self.count("festival_hangover_visitors", int(stocked.sum()))

    def on_orders(self, model, orders) -> None:
        if self.peak(model.day) and not self.exhausted:
            self.peak_buyer[orders.who] = True
            self.peak_gmv_cents += int(orders.value_cents.sum())
            self.count("festival_peak_orders", len(orders.who))

    def summary(self, model) -> dict:
        t = self.totals
        name = (lambda k: k) if self.key == "festival" else (lambda k: f"{self.key}_{k}")
        return {name(k): v for k, v in {
            "festival_surge_visits": int(t.get("festival_surge_visits", 0)),
            "festival_new_aware": int(t.get("festival_new_aware", 0)),
            "festival_peak_orders": int(t.get("festival_peak_orders", 0)),
            "festival_peak_gmv": self.peak_gmv_cents / 100,
            "festival_hangover_visitors": int(t.get("festival_hangover_visitors", 0)),
        }.items()}
