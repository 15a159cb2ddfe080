"""Content and influencers: sponsored KOL seeding (种草), livestream selling (直播带货)
and KOC review incentives (晒单).

Three options, one family (``content``); the rules and equations are in
``docs/model.md (Campaigns)``, each beside its config key.

* ``kol_seeding``: selected KOLs publish sponsored posts on a fixed schedule.
  Engagement per follower and post is the KOL's base engagement (falling with
  follower count) x format x content quality x fatigue,
  fatigue = exp(-fatigue x the KOL's sponsored posts in the last
  ``fatigue_window_days``). Engaged followers are touched today (they visit and
  the purchase logit uses their trust in KOLs) and, if unaware, become aware.
  Paid by a fee per post (within the budget: an unaffordable post is not made)
  and/or a commission on attributed orders.
* ``livestream``: selected KOLs host a session every ``every_days`` days; engaged
  followers are viewers: they visit today and get a time-limited offer (a share
  off and an excitement utility boost). Paid by a fee per session and/or a
  commission on the session's orders. Its orders are of sales channel
  ``livestream`` (their return probability: ``market.returns.livestream``).
* ``koc_reviews``: a cash reward for satisfied buyers who post a review (talk);
  it raises their probability of talking. Paid after the fact, only for reviews
  actually posted by satisfied buyers offered the reward.

Money in fen; randomness only from ``self.rng``; loops only over KOLs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from scenarios.base import CampaignSettings, Mechanism, check_money
from scenarios.registry import register
from sim.errors import (ConfigError, check_at_least, check_choice, check_non_negative,
                        check_positive, check_probability)

#: Engagement multiplier by content format (assumptions, uncalibrated: video out-engages image-text).
FORMATS: dict[str, float] = {"post": 1.0, "short_video": 1.5, "livestream": 2.0}
KOL_SELECTIONS = ("top", "nano", "random", "all")
#: Follower tiers (real-world follower counts): nano < 10k <= micro < 100k <= mid < 1M <= mega.
TIERS = ("nano", "micro", "mid", "mega")
TIER_BOUNDS = (10_000.0, 100_000.0, 1_000_000.0)

#: Daily metric columns of the family (every content option reports all of them).
CONTENT_DAILY = (
    "content_sponsored_posts", "content_reach", "content_engagements", "content_attributed_orders",
    "content_fees", "content_livestream_sessions", "content_livestream_viewers",
    "content_livestream_orders", "content_reviews_rewarded",
)


def _cents(yuan: np.ndarray | float) -> np.ndarray:
    return np.rint(np.asarray(yuan, dtype=np.float64) * 100).astype(np.int64)


# --------------------------------------------------------------------------- configs
@dataclass(unsafe_hash=True)
class KOLContentSettings(CampaignSettings):
    """Fields shared by the KOL options (``kol_seeding``, ``livestream``)."""

    kol_selection: str = "top"  # top | nano | random | all: which KOLs are sponsored
    n_kols: int = 3  # KOLs sponsored (ignored by kol_selection=all)
    content_quality: float = 1.0  # multiplier on engagement (>= 0; 0 = nobody engages)
    fatigue: float = 0.1  # engagement x exp(-fatigue x the KOL's sponsored pieces in the window)
    fatigue_window_days: int = 14  # days counted by the fatigue (before today)
    fee_per_1k_followers: float = 0.0  # yuan per post/session per 1,000 followers, added to the flat fee
    commission_rate: float = 0.0  # share of the attributed paid amount paid to the KOL, [0, 1]

    def validate(self, prefix: str) -> None:
        super().validate(prefix)
        check_choice(f"{prefix}.kol_selection", self.kol_selection, KOL_SELECTIONS)
        check_at_least(f"{prefix}.n_kols", self.n_kols, 1)
        check_non_negative(f"{prefix}.content_quality", self.content_quality)
        check_non_negative(f"{prefix}.fatigue", self.fatigue)
        check_at_least(f"{prefix}.fatigue_window_days", self.fatigue_window_days, 1)
        check_money(f"{prefix}.fee_per_1k_followers", self.fee_per_1k_followers)
        check_probability(f"{prefix}.commission_rate", self.commission_rate)


@dataclass(unsafe_hash=True)
class KOLSeedingConfig(KOLContentSettings):
    posts_per_week: float = 2.0  # sponsored posts per selected KOL per week, [0, 7]
    format: str = "post"  # post | short_video | livestream (engagement x 1.0 | 1.5 | 2.0)
    fee_per_post: float = 20.0  # yuan per post (flat part)
    fee_per_1k_followers: float = 50.0  # yuan per post per 1,000 followers
    attribution_days: int = 7  # an order is attributed if the buyer was touched 0..attribution_days-1 days ago

    def validate(self, prefix: str) -> None:
        super().validate(prefix)
        check_non_negative(f"{prefix}.posts_per_week", self.posts_per_week)
        if self.posts_per_week > 7:
            raise ConfigError(f"{prefix}.posts_per_week", self.posts_per_week,
                              "must be in [0, 7] (one post a day at most)")
        check_choice(f"{prefix}.format", self.format, tuple(FORMATS))
        check_money(f"{prefix}.fee_per_post", self.fee_per_post)
        check_at_least(f"{prefix}.attribution_days", self.attribution_days, 1)
        if self.target != "everyone":
            raise ConfigError(f"{prefix}.target", self.target,
                              "must be everyone: a sponsored post reaches every follower")
        if self.per_user_cap is not None:
            raise ConfigError(f"{prefix}.per_user_cap", self.per_user_cap,
                              "must be null: a sponsored post reaches every follower")


@dataclass(unsafe_hash=True)
class LivestreamConfig(KOLContentSettings):
    every_days: int = 7  # a session by every selected KOL on campaign days 1, 1 + every_days, ...
    fee_per_session: float = 200.0  # yuan per session (坑位费, flat part)
    fee_per_1k_followers: float = 50.0  # yuan per session per 1,000 followers
    commission_rate: float = 0.2  # share of the session's paid amount paid to the host KOL
    offer_discount: float = 0.15  # share off the price for (targeted) viewers on the session day, [0, 1)
    excitement: float = 0.5  # utility added for viewers on the session day (>= 0)

    def validate(self, prefix: str) -> None:
        super().validate(prefix)
        check_at_least(f"{prefix}.every_days", self.every_days, 1)
        check_money(f"{prefix}.fee_per_session", self.fee_per_session)
        if not (math.isfinite(self.offer_discount) and 0.0 <= self.offer_discount < 1.0):
            raise ConfigError(f"{prefix}.offer_discount", self.offer_discount, "must be a share in [0, 1)")
        check_non_negative(f"{prefix}.excitement", self.excitement)


@dataclass(unsafe_hash=True)
class KOCReviewsConfig(CampaignSettings):
    review_reward: float = 5.0  # yuan paid per review posted by a satisfied buyer offered the reward
    review_uplift: float = 0.5  # most the reward can remove of the chance of staying silent, [0, 1]
    half_saturation: float = 5.0  # reward (yuan) giving half the uplift, > 0

    def validate(self, prefix: str) -> None:
        super().validate(prefix)
        check_money(f"{prefix}.review_reward", self.review_reward)
        check_probability(f"{prefix}.review_uplift", self.review_uplift)
        check_positive(f"{prefix}.half_saturation", self.half_saturation)


# --------------------------------------------------------------------------- shared machinery
class ContentMechanism(Mechanism):
    family = "content"
    DAILY = CONTENT_DAILY
    OPTION: ClassVar[str] = "content"

    def _paid_yuan(self, kinds: tuple[str, ...]) -> float:
        return sum(self.payments_cents.get(k, 0) for k in kinds) / 100


class KOLMechanism(ContentMechanism):
    """Sponsored content by selected KOLs: selection, fees, fatigue, tiers, attribution."""
    outside_window = frozenset({"end_day"})

    FORMAT_MULTIPLIER: ClassVar[float] = 1.0

    def __init__(self, key, cfg: KOLContentSettings, model, index):
        super().__init__(key, cfg, model, index)
        followers = np.diff(model.follower_graph.indptr).astype(np.int64)
        self.followers = followers
        self.selected = self._select(cfg, followers)
        # Tier of each KOL by its real followers: followers / model.scale (population.represents).
        real = followers / model.scale
        self.tier = np.searchsorted(np.asarray(TIER_BOUNDS), real, side="right")
        self.history = np.zeros((len(followers), model.config.days + 2), dtype=np.int32)  # pieces by KOL x day
        self.tier_reach = np.zeros(len(TIERS), dtype=np.int64)
        self.tier_engagements = np.zeros(len(TIERS), dtype=np.int64)
        self.pieces = 0
        self.stop_tonight = False  # a fee could not be paid today: stop after today
        # Last sponsored touch of each consumer (day, KOL) for attribution and commissions.
        self.touch_day = np.full(model.n, -1, dtype=np.int32)
        self.touch_kol = np.full(model.n, -1, dtype=np.int32)

    def _select(self, cfg: KOLContentSettings, followers: np.ndarray) -> np.ndarray:
        k = len(followers)
        n = min(cfg.n_kols, k)
        by_size = np.argsort(-followers, kind="stable")  # most followers first, ties by index
        if cfg.kol_selection == "all":
            return by_size
        if cfg.kol_selection == "top":
            return by_size[:n]
        if cfg.kol_selection == "nano":
            return by_size[::-1][:n]
        return np.sort(self.rng.choice(k, size=n, replace=False)) if n else np.zeros(0, dtype=np.int64)

    def fees_cents(self, kols: np.ndarray, flat_yuan: float) -> np.ndarray:
        """Fee of one piece by each KOL (fen): the flat fee, stated for the real market and
        scaled by ``model.scale``, + fee_per_1k_followers x (simulated) followers / 1000."""
        return _cents(flat_yuan * self.scale + self.cfg.fee_per_1k_followers * self.followers[kols] / 1000.0)

    def engagement(self, model, kol: int) -> float:
        """Base engagement x format x quality x exp(-fatigue x recent sponsored pieces)."""
        cfg, t = self.cfg, model.day
        recent = int(self.history[kol, max(0, t - cfg.fatigue_window_days):t].sum())
        fatigue = math.exp(-cfg.fatigue * recent)
        return min(1.0, model.kol_engagement[kol] * self.FORMAT_MULTIPLIER * cfg.content_quality * fatigue)

    def publish(self, model, hosts: np.ndarray, fees: np.ndarray, kind: str) -> list[tuple[int, np.ndarray]]:
        """Pay each host's fee (in order, within the budget), then publish the paid pieces.
        Returns (KOL, engaged consumers) per piece made."""
        if len(hosts) == 0:
            return []
        # Pieces whose fee the budget cannot cover are not made; the paid ones run in full
        # today (offers included) and the mechanism stops at the end of the day.
        paid = self.affordable(fees)
        if not paid.all():
            self.stop_tonight = True
        self.pay(model, hosts[paid], fees[paid], kind)
        self.count("content_fees", int(fees[paid].sum()) / 100)
        made = []
        for kol in hosts[paid]:  # a handful of KOLs
            kol = int(kol)
            rate = self.engagement(model, kol)
            engaged, reach, engagements = model.kol_exposure([kol], np.array([rate]), self.rng)
            self.history[kol, model.day] += 1
            self.pieces += 1
            self.tier_reach[self.tier[kol]] += reach
            self.tier_engagements[self.tier[kol]] += engagements
            self.count("content_reach", reach)
            self.count("content_engagements", engagements)
            self.touch_day[engaged] = model.day
            self.touch_kol[engaged] = kol
            made.append((kol, engaged))
        return made

    def end_day(self, model) -> None:
        if self.stop_tonight:
            self.exhausted = True

    def pay_commission(self, model, who: np.ndarray, paid_cents: np.ndarray) -> None:
        """Commission round(commission_rate x paid) to the KOL who last touched each buyer."""
        if self.cfg.commission_rate <= 0 or len(who) == 0:
            return
        amounts = np.rint(self.cfg.commission_rate * paid_cents).astype(np.int64)
        ok = self.pay(model, self.touch_kol[who], amounts, "kol_commission")
        self.count("content_fees", int(amounts[ok].sum()) / 100)

    def tier_summary(self) -> dict:
        rate = {t: (float(self.tier_engagements[i] / self.tier_reach[i]) if self.tier_reach[i] else None)
                for i, t in enumerate(TIERS)}
        kols = {t: int((self.tier[self.selected] == i).sum()) for i, t in enumerate(TIERS)}
        return {"by_tier": rate, "kols_by_tier": kols}


# --------------------------------------------------------------------------- kol_seeding
@register
class KOLSeeding(KOLMechanism):
    """Sponsored posts (种草) by selected KOLs, ``posts_per_week`` each, evenly spread."""
    outside_window = frozenset({"end_day", "on_orders"})
    option = "kol_seeding"
    settings = KOLSeedingConfig
    feature = "kol_seeding"  # the platform must offer it (platform.social_features)

    OPTION = "kol_seeding"

    def __init__(self, key, cfg: KOLSeedingConfig, model, index):
        super().__init__(key, cfg, model, index)
        self.FORMAT_MULTIPLIER = FORMATS[cfg.format]
        self.attributed_gmv_cents = 0

    def scheduled(self, day: int) -> np.ndarray:
        """Selected KOLs posting on ``day``: KOL j of n (selection order) posts on campaign
        day d when floor(d r / 7 + j / n) > floor((d - 1) r / 7 + j / n), r = posts_per_week."""
        n = len(self.selected)
        r = self.cfg.posts_per_week
        if n == 0 or r <= 0:
            return self.selected[:0]
        d = day - self.cfg.start_day + 1
        phase = np.arange(n) / n
        due = np.floor(d * r / 7.0 + phase) > np.floor((d - 1) * r / 7.0 + phase)
        return self.selected[due]

    def post_content(self, model) -> None:
        hosts = self.scheduled(model.day)
        made = self.publish(model, hosts, self.fees_cents(hosts, self.cfg.fee_per_post), "kol_fee")
        self.count("content_sponsored_posts", len(made))

    def on_orders(self, model, orders) -> None:
        if self.pieces == 0 or len(orders.who) == 0:
            return
        touched = self.touch_day[orders.who]
        att = (touched >= 0) & (model.day - touched < self.cfg.attribution_days)
        if not att.any():
            return
        paid = (orders.value_cents - orders.discount_cents)[att]
        self.count("content_attributed_orders", int(att.sum()))
        self.count("kol_attributed_gmv", int(orders.value_cents[att].sum()) / 100)
        self.pay_commission(model, orders.who[att], paid)

    def summary(self, model) -> dict:
        tot = self.totals
        reach, eng = tot.get("content_reach", 0), tot.get("content_engagements", 0)
        tiers = self.tier_summary()
        return {self.summary_name(k): v for k, v in {
            "kol_tier_thresholds": [round(b * model.scale, 2) for b in TIER_BOUNDS],
            "kol_sponsored_posts": int(tot.get("content_sponsored_posts", 0)),
            "kol_reach": int(reach),
            "kol_engagements": int(eng),
            "kol_engagement_rate": (eng / reach) if reach else None,
            "kol_attributed_orders": int(tot.get("content_attributed_orders", 0)),
            "kol_attributed_gmv": round(tot.get("kol_attributed_gmv", 0.0), 2),
            "kol_fees": self._paid_yuan(("kol_fee", "kol_commission")),
            "kol_engagement_by_tier": tiers["by_tier"],
            "kol_sponsored_by_tier": tiers["kols_by_tier"],
        }.items()}


# --------------------------------------------------------------------------- livestream
@register
class Livestream(KOLMechanism):
    """Livestream selling (直播带货): sessions every ``every_days`` days; viewers get an offer."""
    outside_window = frozenset({"end_day", "on_orders"})
    option = "livestream"
    settings = LivestreamConfig
    feature = "livestream"  # the platform must offer it (platform.social_features)

    OPTION = "livestream"
    FORMAT_MULTIPLIER = FORMATS["livestream"]
    return_channel = "livestream"

    def __init__(self, key, cfg: LivestreamConfig, model, index):
        super().__init__(key, cfg, model, index)
        self.session_day = -1
        self.viewer = np.zeros(model.n, dtype=bool)  # today's viewers
        self.other_visitors = 0
        self.other_orders = 0
        self.viewer_gmv_cents = 0

    def post_content(self, model) -> None:
        d = model.day - self.cfg.start_day + 1
        if (d - 1) % self.cfg.every_days != 0 or len(self.selected) == 0:
            return
        hosts = self.selected
        made = self.publish(model, hosts, self.fees_cents(hosts, self.cfg.fee_per_session), "livestream_fee")
        self.viewer[:] = False
        for _, engaged in made:
            self.viewer[engaged] = True
        self.viewer &= ~model.consumers.churned  # churned consumers no longer use the platform
        viewers = np.flatnonzero(self.viewer)
        model.visit_boost[viewers] = True
        self.session_day = model.day
        self.count("content_livestream_sessions", len(made))
        self.count("content_livestream_viewers", len(viewers))

    def adjust_offer(self, model, offer) -> None:
        if self.session_day != model.day:
            return
        watching = self.viewer[offer.who]
        if not watching.any():
            return
        if self.cfg.excitement:
            offer.utility_shift[watching] += self.cfg.excitement
        if self.cfg.offer_discount > 0:
            mask = watching & self.targeted(model, offer.who)
            cents = np.rint(self.cfg.offer_discount * offer.paid_cents).astype(np.int64)
            offer.add_discount(self.key, cents, where=mask)

    def sold_through(self, model, orders) -> np.ndarray:
        """The session's sales: orders its viewers place on the session day (any channel)."""
        if self.session_day != model.day:
            return np.zeros(len(orders.who), dtype=bool)
        return self.viewer[orders.who]

    def on_orders(self, model, orders) -> None:
        if self.session_day != model.day or len(orders.who) == 0:
            return
        watching = self.viewer[orders.who]
        self.other_orders += int((~watching).sum())
        if not watching.any():
            return
        self.count("content_livestream_orders", int(watching.sum()))
        self.viewer_gmv_cents += int(orders.value_cents[watching].sum())
        paid = (orders.value_cents - orders.discount_cents)[watching]
        self.pay_commission(model, orders.who[watching], paid)

    def end_day(self, model) -> None:
        super().end_day(model)
        if self.session_day == model.day:
            self.other_visitors += int((model.consumers.active & ~self.viewer).sum())

    def summary(self, model) -> dict:
        tot = self.totals
        viewers, orders = tot.get("content_livestream_viewers", 0), tot.get("content_livestream_orders", 0)
        return {self.summary_name(k): v for k, v in {
            "livestream_sessions": int(tot.get("content_livestream_sessions", 0)),
            "livestream_reach": int(tot.get("content_reach", 0)),
            "livestream_viewers": int(viewers),
            "livestream_orders": int(orders),
            "livestream_gmv": self.viewer_gmv_cents / 100,
            "livestream_conversion": (orders / viewers) if viewers else None,
            "livestream_other_conversion": (self.other_orders / self.other_visitors) if self.other_visitors else None,
            "livestream_fees": self._paid_yuan(("livestream_fee", "kol_commission")),
            "livestream_discounts": self.discount_cents / 100,
            "livestream_engagement_by_tier": self.tier_summary()["by_tier"],
        }.items()}


# --------------------------------------------------------------------------- koc_reviews
@register
class KOCReviews(ContentMechanism):
    """Cash for reviews (晒单) by satisfied buyers: p' = 1 - (1 - p)(1 - u r / (r + h))."""
    outside_window = frozenset({"end_day"})
    option = "koc_reviews"
    settings = KOCReviewsConfig
    feature = "koc_reviews"  # the platform must offer it (platform.social_features)

    OPTION = "koc_reviews"

    def __init__(self, key, cfg: KOCReviewsConfig, model, index):
        super().__init__(key, cfg, model, index)
        self.reward_cents = int(_cents(cfg.review_reward))
        self.uplift = cfg.review_uplift * cfg.review_reward / (cfg.review_reward + cfg.half_saturation)
        self.offered = np.zeros(0, dtype=np.int64)
        self.offered_count = 0
        self.extra_reviews = 0.0  # expected reviews the reward added, sum of p' - p

    def adjust_sharing(self, model, buyers, satisfied, prob):
        if self.reward_cents <= 0 or self.uplift <= 0 or len(buyers) == 0:
            return prob
        eligible = np.flatnonzero(satisfied & self.targeted(model, buyers))
        if self.budget_cents is not None:
            # Offer the reward only to as many buyers as the budget pays if all of them review.
            cap = max(0, int(self.remaining_cents // self.reward_cents))
            if cap < len(eligible):
                u = self.rng.random(model.n)[buyers[eligible]]
                eligible = np.sort(eligible[np.argsort(u, kind="stable")[:cap]])
                self.exhausted = True  # no reward can be offered tomorrow
        if len(eligible) == 0:
            return prob
        new = prob.copy()
        new[eligible] = 1.0 - (1.0 - prob[eligible]) * (1.0 - self.uplift)
        self.extra_reviews += float((new[eligible] - prob[eligible]).sum())
        self.offered = np.unique(buyers[eligible])
        self.offered_count += len(self.offered)
        return new

    def end_day(self, model) -> None:
        """Pay the offered buyers who posted a review today (positive word of mouth started today)."""
        if len(self.offered) == 0:
            return
        c, o = model.consumers, self.offered
        self.offered = self.offered[:0]
        reviewed = o[(c.wom_sign[o] == 1) & (c.wom_until[o] == model.day + model.config.market.wom_days)]
        if len(reviewed) == 0:
            return
        paid = self.pay(model, reviewed, np.full(len(reviewed), self.reward_cents, dtype=np.int64), "review_reward")
        self.benefits[reviewed[paid]] += 1
        model.post_reviews(reviewed[paid])  # the 晒单 is a review of the product
        self.count("content_reviews_rewarded", int(paid.sum()))
        self.count("content_fees", int(paid.sum()) * self.reward_cents / 100)

    def summary(self, model) -> dict:
        rewarded = int(self.totals.get("content_reviews_rewarded", 0))
        rewards = self._paid_yuan(("review_reward",))
        return {self.summary_name(k): v for k, v in {
            "koc_offered": int(self.offered_count),
            "koc_reviews_rewarded": rewarded,
            "koc_rewards": rewards,
            "koc_extra_reviews": round(self.extra_reviews, 2),
            "koc_cost_per_extra_review": (rewards / self.extra_reviews) if self.extra_reviews > 0 else None,
        }.items()}
