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
* **Anticipation.** Announced on ``announce_day`` (null: not announced, no
  anticipation), the festival is known to a share ``known_share`` of consumers.
  On a run-up day (``announce_day`` .. ``start_day`` − 1) a knowing visitor who
  would buy defers with ``agents.anticipating.defer_probability`` (the saving
  ``announced_discount`` it expects, its price sensitivity, the days left, its
  budget); a waiting consumer defers again, gives up with ``defer_decay`` per
  day, and visits on the first peak day with ``return_visit_prob``.
* **Hangover.** Peak buyers have bought: they return on their ordinary
  repurchase curve (the emergent hangover). Optionally, for ``hangover_days``
  days after the last peak day their purchase utility is lowered by
  ``hangover_utility`` (stocking up; default 0).

Equations, keys and metrics: ``docs/scenarios.md`` (Festival peak). Randomness
only from the mechanism's stream, full length, indexed by consumer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from agents.consumers import SOURCE_ADS
from scenarios.anticipation import AnticipationSettings, RunUp
from scenarios.base import CampaignSettings, Mechanism, check_rate
from scenarios.registry import register
from sim.errors import check_at_least, check_non_negative, check_probability


@dataclass(unsafe_hash=True)
class FestivalConfig(AnticipationSettings, CampaignSettings):
    start_day: int | str = 30  # first peak day
    end_day: int | str | None = 30  # last peak day (inclusive); null = to the end of the run (no hangover)
    visit_prob: float = 0.3  # P(an aware, not churned, targeted consumer visits on a peak day)
    awareness_prob: float = 0.01  # P(an unaware targeted consumer hears of the market on a peak day)
    hangover_days: int = 7  # days after the last peak day (the hangover window)
    hangover_utility: float = 0.0  # optional: purchase utility subtracted for peak buyers in the hangover (>= 0)
    # anticipation (strategic consumers; the other keys: scenarios/anticipation.py): off unless announced
    announced_discount: float = 0.0  # d: share of the price consumers expect off at the peak, [0, 1)

    DAY_KEYS = ("start_day", "end_day", "announce_day")

    def validate(self, prefix: str) -> None:
        super().validate(prefix)
        check_probability(f"{prefix}.visit_prob", self.visit_prob)
        check_probability(f"{prefix}.awareness_prob", self.awareness_prob)
        check_at_least(f"{prefix}.hangover_days", self.hangover_days, 0)
        check_non_negative(f"{prefix}.hangover_utility", self.hangover_utility)
        self.validate_anticipation(prefix, self.start_day)
        check_rate(f"{prefix}.announced_discount", self.announced_discount)


#: Days before the first peak day reported as the pre-peak window (``festival_prepeak_gmv``; from the
#: announcement day if earlier).
PREPEAK_DAYS = 7


@register
class Festival(Mechanism):
    outside_window = frozenset({"on_orders"})
    option = "festival"
    settings = FestivalConfig
    family = "event"
    DAILY = ("festival_surge_visits", "festival_new_aware", "festival_peak_orders", "festival_hangover_visitors",
             "festival_deferred", "festival_deferred_returned")

    def __init__(self, key, cfg: FestivalConfig, model, index):
        super().__init__(key, cfg, model, index)
        self.peak_buyer = np.zeros(model.n, dtype=bool)  # bought on a peak day
        self.peak_gmv_cents = 0
        self.run_up_to = RunUp.of(self, model, cfg, cfg.start_day, cfg.announced_discount)  # None: not announced
        self.anticipating = self.run_up_to is not None

    def peak(self, day: int) -> bool:
        end = self.cfg.end_day if self.cfg.end_day is not None else math.inf
        return self.cfg.start_day <= day <= end

    def hangover(self, day: int) -> bool:
        end = self.cfg.end_day
        return end is not None and end < day <= end + self.cfg.hangover_days

    def run_up(self, day: int) -> bool:
        """Announced, the peak not yet come (anticipation on)."""
        return self.anticipating and self.run_up_to.on(day)

    def running(self, day: int) -> bool:
        """The run-up (announced), the peak days and the hangover after them."""
        return self.run_up(day) or self.peak(day) or self.hangover(day)

    def windows(self, days: int) -> dict[str, tuple[int, int]]:
        """Days (first, last) of the pre-peak window (the week before the peak, or the run-up
        from the announcement if longer), the peak and the hangover, within the run."""
        s, e = self.cfg.start_day, self.cfg.end_day if self.cfg.end_day is not None else days
        first = s - PREPEAK_DAYS if self.cfg.announce_day is None else min(self.cfg.announce_day, s - PREPEAK_DAYS)
        out = {"prepeak": (max(1, first), min(s - 1, days)), "peak": (s, min(e, days)),
               "hangover": (e + 1, min(e + self.cfg.hangover_days, days))}
        return {k: v for k, v in out.items() if v[0] <= v[1]}

    # ------------------------------------------------------------------ anticipation
    def start_day(self, model) -> None:
        """Announcement day: who learns of it; later run-up days and the first peak day:
        deferred demand decays."""
        if self.anticipating:
            self.run_up_to.start_day(model)

    def take_deferred(self, model, offer, chosen) -> None:
        self.count("festival_deferred", self.run_up_to.take_deferred(offer, chosen))

    # ------------------------------------------------------------------ peak and hangover
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
        if self.anticipating and model.day == cfg.start_day:  # the waiting come back
            self.count("festival_deferred_returned", len(self.run_up_to.come_back(model)))

    def adjust_offer(self, model, offer) -> None:
        if self.run_up(model.day):
            self.run_up_to.defer(model, offer)
            return
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
            if self.anticipating:
                self.count("festival_deferred_bought", int(self.run_up_to.waited[orders.who].sum()))

    def summary(self, model) -> dict:
        t = self.totals
        gmv = model.metrics.frame()["gmv"].to_numpy() if model.day else np.zeros(0)
        win = {w: round(float(gmv[a - 1:b].sum()), 2) for w, (a, b) in self.windows(model.day).items()}
        out = {
            "festival_surge_visits": int(t.get("festival_surge_visits", 0)),
            "festival_new_aware": int(t.get("festival_new_aware", 0)),
            "festival_peak_orders": int(t.get("festival_peak_orders", 0)),
            "festival_peak_gmv": self.peak_gmv_cents / 100,
            "festival_hangover_visitors": int(t.get("festival_hangover_visitors", 0)),
            "festival_prepeak_gmv": win.get("prepeak"), "festival_hangover_gmv": win.get("hangover"),
        }
        if self.anticipating:
            out.update(self.run_up_to.summary("festival", int(t.get("festival_deferred", 0)),
                                              int(t.get("festival_deferred_bought", 0))))
        return {self.summary_name(k): v for k, v in out.items()}
