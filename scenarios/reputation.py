"""Reputation: a merchant buying fake reviews (刷单/刷好评), and the platform catching it.

One option, ``fake_reviews`` (family ``reputation``): while it runs, the merchant buys
``reviews_per_day`` fake reviews of ``stars`` for its ``products``, at ``cost_per_review``
yuan each (the fake order and the writer's fee). They show like genuine ones after
``reviews.delay_days``. Each day the platform detects the fraud with probability
``detection_prob`` (and surely on ``audit_day``, if set). On detection it takes every fake
review of those products down, stops the campaign, and penalizes the products for
``penalty_days`` days by ``penalty_utility`` off their purchase utility (demoted in search,
a warning label). Issue 16 makes the platform's policing an agent's policy; this is the
review side.

Counts are of simulated buyers: ``reviews_per_day`` is scaled by ``population.represents``
like the other stocks (real reviews per day x simulated consumers per real user).
Randomness only from the mechanism's stream. Keys and equations: docs/scenarios.md
(*Fake reviews*).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from scenarios.base import CampaignSettings, Mechanism, check_money, product_mask
from scenarios.registry import register
from sim.errors import ConfigError, check_at_least, check_non_negative, check_probability


@dataclass(unsafe_hash=True)
class FakeReviewsConfig(CampaignSettings):
    products: tuple[int, ...] = (0,)  # catalogue indices whose reviews are bought
    reviews_per_day: float = 10.0  # fake reviews bought per day (real users), spread over the products
    stars: float = 5.0  # stars of a fake review, [1, 5]
    cost_per_review: float = 8.0  # yuan per fake review (the fake order's loss and the writer's fee)
    detection_prob: float = 0.02  # P(the platform detects the fraud), per day while it runs
    audit_day: int | None = None  # a day the platform surely detects it (an audit); null = none
    penalty_days: int = 30  # days the products are demoted after detection
    penalty_utility: float = 1.0  # purchase utility taken off the products while demoted, >= 0

    def validate(self, prefix: str) -> None:
        super().validate(prefix)
        if not self.products or any(p < 0 for p in self.products):
            raise ConfigError(f"{prefix}.products", list(self.products), "must list catalogue indices >= 0")
        check_non_negative(f"{prefix}.reviews_per_day", self.reviews_per_day)
        if not (math.isfinite(self.stars) and 1.0 <= self.stars <= 5.0):
            raise ConfigError(f"{prefix}.stars", self.stars, "must be a number of stars in [1, 5]")
        check_money(f"{prefix}.cost_per_review", self.cost_per_review)
        check_probability(f"{prefix}.detection_prob", self.detection_prob)
        if self.audit_day is not None:
            check_at_least(f"{prefix}.audit_day", self.audit_day, 1)
        check_at_least(f"{prefix}.penalty_days", self.penalty_days, 0)
        check_non_negative(f"{prefix}.penalty_utility", self.penalty_utility)


@register
class FakeReviews(Mechanism):
    """Buys fake reviews until the platform detects them; then takedown and penalty."""
    outside_window = frozenset({"adjust_offer"})  # the penalty outlives the campaign
    option = "fake_reviews"
    settings = FakeReviewsConfig
    family = "reputation"
    DAILY = ("fake_reviews_bought", "fake_reviews_removed")

    def __init__(self, key, cfg: FakeReviewsConfig, model, index):
        super().__init__(key, cfg, model, index)
        self.penalized = np.zeros(model.catalogue.size, dtype=bool)
        self.products = np.flatnonzero(product_mask(key, cfg.products, model.catalogue.size))
        self.penalty_until = 0
        self.detected_day: int | None = None
        self.cost_cents = int(round(cfg.cost_per_review * 100))
        self._owed = 0.0  # fractional reviews carried to the next day

    def start_day(self, model) -> None:
        if self.detected_day is not None:
            return
        cfg = self.cfg
        if self.rng.random() < cfg.detection_prob or model.day == cfg.audit_day:
            self.detected_day = model.day
            self.count("fake_reviews_removed", model.reviews.remove_fakes(self.products))
            self.penalized[self.products] = True
            self.penalty_until = model.day + cfg.penalty_days - 1
            self.exhausted = True  # the campaign stops
            return
        self._owed += cfg.reviews_per_day * self.scale
        bought = int(self._owed)
        self._owed -= bought
        if bought == 0:
            return
        paid = self.pay(model, np.full(bought, -1), np.full(bought, self.cost_cents, dtype=np.int64), "fake_reviews")
        bought = int(paid.sum())
        product = self.products[np.arange(bought) % len(self.products)]
        model.reviews.post(model.day, product, np.full(bought, cfg.stars), fake=True)
        self.count("fake_reviews_bought", bought)

    def adjust_offer(self, model, offer) -> None:
        if self.detected_day is None or model.day > self.penalty_until:
            return
        offer.utility_shift[self.penalized[offer.product]] -= self.cfg.penalty_utility

    def summary(self, model) -> dict:
        t = self.totals
        return {self.summary_name(k): v for k, v in {
            "fake_reviews_bought": int(t.get("fake_reviews_bought", 0)),
            "fake_reviews_removed": int(t.get("fake_reviews_removed", 0)),
            "fake_reviews_detected_day": self.detected_day,
            "fake_reviews_cost": self.spent_cents / 100,
        }.items()}
