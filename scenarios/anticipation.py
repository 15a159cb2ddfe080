"""The run-up to an announced event, for any mechanism that has one (a festival's peak, a
flash sale): strategic consumers who know of it defer purchases to it.

Announced on ``announce_day`` (null: not announced, no anticipation), the event is known
to a share ``known_share`` of consumers (drawn on that day). On a run-up day
(``announce_day`` .. the event's first day − 1) a knowing visitor who would buy defers
with ``agents.anticipating.defer_probability`` (the saving it expects, its price
sensitivity, the days left, its budget); a waiting consumer defers again, gives up with
``defer_decay`` per day, and visits on the event's first day with ``return_visit_prob``.
Draws from the mechanism's own stream ``campaign/<key>/anticipation`` (full length, indexed
by consumer), so announcing never shifts the mechanism's other draws.
Equations: docs/model.md (*Anticipation and pre-sale*).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents import anticipating
from sim.errors import ConfigError, check_at_least, check_non_negative, check_positive, check_probability


@dataclass(unsafe_hash=True)
class AnticipationSettings:
    """The keys of an announced event (a mixin of a mechanism's settings); off unless announced."""

    announce_day: int | str | None = None  # day (or date) the event is announced; null = not announced
    known_share: float = 1.0  # share of consumers who learn of the announcement (once aware)
    defer_weight: float = 1.0  # w: scale of P(defer) (>= 0)
    patience_days: float = 7.0  # T, days: P(defer) halves when the event is T days away (> 0)
    budget_elasticity: float = 0.5  # η >= 0: P(defer) x (median budget / budget)^η
    max_defer_prob: float = 0.8  # cap on P(defer), [0, 1]
    defer_decay: float = 0.05  # P(a waiting consumer gives up) per day, [0, 1]
    return_visit_prob: float = 1.0  # P(a consumer still waiting visits on the event's first day)

    def validate_anticipation(self, prefix: str, event_day: int) -> None:
        if self.announce_day is not None:
            check_at_least(f"{prefix}.announce_day", self.announce_day, 1)
            if self.announce_day > event_day:
                raise ConfigError(f"{prefix}.announce_day", self.announce_day,
                                  f"must be <= {prefix}.start_day={event_day} (announced before the event), "
                                  "or null (not announced)")
        check_probability(f"{prefix}.known_share", self.known_share)
        check_non_negative(f"{prefix}.defer_weight", self.defer_weight)
        check_positive(f"{prefix}.patience_days", self.patience_days)
        check_non_negative(f"{prefix}.budget_elasticity", self.budget_elasticity)
        for key in ("max_defer_prob", "defer_decay", "return_visit_prob"):
            check_probability(f"{prefix}.{key}", getattr(self, key))


class RunUp:
    """Who knows of the event, who waits for it, and what they put off."""

    def __init__(self, mechanism, model, cfg: AnticipationSettings, event_day: int, discount: float):
        self.mechanism, self.cfg, self.event_day, self.discount = mechanism, cfg, event_day, discount
        self.rng = model.streams[f"campaign/{mechanism.key}/anticipation"]
        self.informed = np.zeros(model.n, dtype=bool)  # learnt of the announcement (drawn on the day)
        self.waiting = np.zeros(model.n, dtype=bool)  # deferred a purchase to the event, still waiting
        self.waited = np.zeros(model.n, dtype=bool)  # deferred at least once
        self.reference_budget = float(np.median(model.consumers.budget))
        self.deferred_gmv_cents = 0  # list value of the purchases deferred
        self.decayed = self.returned = 0

    @classmethod
    def of(cls, mechanism, model, cfg: AnticipationSettings, event_day: int, discount: float) -> "RunUp | None":
        """The run-up, or None when the event is not announced or nobody would defer."""
        if cfg.announce_day is None or discount <= 0 or cfg.defer_weight <= 0:
            return None
        return cls(mechanism, model, cfg, event_day, discount)

    def on(self, day: int) -> bool:
        """Announced, the event not yet come."""
        return self.cfg.announce_day <= day < self.event_day

    def start_day(self, model) -> None:
        """Announcement day: who learns of it; later run-up days and the event's first day:
        deferred demand decays."""
        day = model.day
        if day == self.cfg.announce_day:
            self.informed = self.rng.random(model.n) < self.cfg.known_share
        elif self.cfg.announce_day < day <= self.event_day:
            still = anticipating.still_waiting(self.waiting, self.rng.random(model.n), self.cfg.defer_decay)
            self.decayed += int((self.waiting & ~still).sum())
            self.waiting = still

    def defer(self, model, offer, eligible: np.ndarray | bool = True) -> None:
        """Knowing visitors the other mechanisms left alone defer with P(defer) (those of
        ``eligible``, offered something the event discounts); a waiting consumer defers again
        (``offer.deferred``: the mechanism takes it over if it would buy)."""
        cfg, c, who, mech = self.cfg, model.consumers, offer.who, self.mechanism
        u = self.rng.random(model.n)[who]
        free = self.informed[who] & (offer.deferred == -1) & mech.targeted(model, who) & eligible
        prob = anticipating.defer_probability(
            self.discount, c.price_sensitivity[who], offer.value_cents / offer.quantity / 100.0,
            model.reference_price, self.event_day - model.day, cfg.patience_days, c.budget[who],
            self.reference_budget, cfg.budget_elasticity, cfg.defer_weight, cfg.max_defer_prob)
        offer.deferred[free & (self.waiting[who] | (u < prob))] = mech.index

    def take_deferred(self, offer, chosen: np.ndarray) -> int:
        """The chosen visitors put off their purchase; returns how many."""
        who = offer.who[chosen]
        self.waiting[who] = True
        self.waited[who] = True
        self.deferred_gmv_cents += int(offer.value_cents[chosen].sum())
        return len(who)

    def come_back(self, model) -> np.ndarray:
        """The event's first day: those still waiting (not churned) visit with
        ``return_visit_prob``; returns them."""
        u = self.rng.random(model.n)
        back = np.flatnonzero(self.waiting & ~model.consumers.churned & (u < self.cfg.return_visit_prob))
        model.visit_boost[back] = True
        self.waiting[:] = False
        self.returned += len(back)
        return back

    def summary(self, prefix: str, deferred: int, bought: int) -> dict:
        """``<prefix>_deferred`` (purchases put off), ``_consumers``, ``_gmv`` (their list
        value, yuan), ``_decayed``, ``_returned``, ``_bought`` (orders on the event by those who waited)."""
        return {f"{prefix}_deferred": deferred, f"{prefix}_deferred_consumers": int(self.waited.sum()),
                f"{prefix}_deferred_gmv": self.deferred_gmv_cents / 100, f"{prefix}_deferred_decayed": self.decayed,
                f"{prefix}_deferred_returned": self.returned, f"{prefix}_deferred_bought": bought}
