"""Referral / fission (裂变): customers invite friends; both are rewarded on the friend's first purchase.

One day of the mechanism (equations and config keys in ``docs/model.md (Campaigns)``):

1. ``end_day`` of day t records the customers active on day t (visited or
   bought, not churned): they share their invitation link, which their
   friends see on day t + 1.
2. ``outreach`` of day t + 1: each of them who is targeted and under the
   per-user cap sends with probability
   ``min(1, invite_rate * s_i / mean(s) * R / (R + reward_half_saturation))``,
   R = inviter_reward + invitee_reward (yuan), ``invites_per_sender``
   invitations, each to a random friend (a share ``community_share`` to a
   random member of the sender's community, 社群). A consumer who has never
   bought and has no live referral accepts an invitation with probability
   ``min(1, accept_rate * tau_F_j / mean(tau_F) * (1 + I / (I + H)))``; it
   becomes aware (source referral), visits today, and is bound to the first
   inviter whose invitation it accepted (the lowest acceptance draw) for
   ``attribution_days`` days.
3. ``on_orders``: a bound invitee's first purchase within the window is a
   conversion: the invitee reward (cash, or the coupon given at acceptance and
   redeemed on that order) and the inviter reward (cash, or a coupon valid
   ``coupon_days``) are paid; the inviter's reward counts against
   ``per_user_cap``. Pending cash rewards act on the invitee's purchase
   decision as a price cut (``adjust_offer``).
4. ``end_day``: fake accounts farm rewards: undetected fake conversions are
   paid both rewards in cash (kind ``fraud``). Fake accounts are not
   consumers: no orders, no customers, only money lost.

Both rewards at 0 send no invitation at all and draw nothing outside the
mechanism's own stream: the run is the baseline, exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents.consumers import SOURCE_REFERRAL
from scenarios.base import CampaignSettings, Mechanism, check_money
from scenarios.registry import register
from sim.errors import (ConfigError, check_at_least, check_choice, check_non_negative,
                        check_positive, check_probability)

REWARD_FORMS = ("cash", "coupon")
_U_EPS = 1e-15  # uniforms are clipped to [eps, 1 - eps] before an inverse CDF


@dataclass(unsafe_hash=True)
class ReferralConfig(CampaignSettings):
    """Invite-a-friend programme. Money in yuan, durations in days, rates per day."""

    invite_rate: float = 0.3  # daily share probability at average sharing propensity and R -> infinity
    invites_per_sender: int = 3  # invitations per share (friends reached)
    community_share: float = 0.0  # share of invitations sent to the sender's community (社群) instead of a friend
    inviter_reward: float = 10.0  # yuan to the inviter per converted invitee
    invitee_reward: float = 10.0  # yuan to the invitee on its first purchase
    reward_form: str = "cash"  # cash | coupon
    reward_half_saturation: float = 20.0  # yuan of total reward R at which the sharing response is half its maximum
    accept_rate: float = 0.2  # probability an invitee of average trust in friends accepts, with no invitee reward
    attribution_days: int = 7  # days after acceptance (acceptance day included) a first purchase is credited
    coupon_days: int = 30  # coupon form: the inviter's coupon is valid this many days after the conversion
    fraud_share: float = 0.05  # share of reward claims made by fake accounts, in [0, 1)
    detection_rate: float = 0.6  # probability the platform detects a fake claim (not paid)
    referred_churn_multiplier: float = 1.0  # churn hazard of referred customers x this: an extra effect (1 = none)
    per_user_cap: int | None = 10  # rewarded referrals per inviter (null = no cap)
    budget: float | None = None  # yuan in all (rewards, coupons, fraud); null = no cap

    def validate(self, prefix: str) -> None:
        super().validate(prefix)
        if self.target == "new_users":
            raise ConfigError(f"{prefix}.target", self.target,
                              "inviters are customers: use everyone, customers, segment or community")
        check_probability(f"{prefix}.invite_rate", self.invite_rate)
        check_at_least(f"{prefix}.invites_per_sender", self.invites_per_sender, 1)
        check_probability(f"{prefix}.community_share", self.community_share)
        check_money(f"{prefix}.inviter_reward", self.inviter_reward)
        check_money(f"{prefix}.invitee_reward", self.invitee_reward)
        check_choice(f"{prefix}.reward_form", self.reward_form, REWARD_FORMS)
        check_positive(f"{prefix}.reward_half_saturation", self.reward_half_saturation)
        check_probability(f"{prefix}.accept_rate", self.accept_rate)
        check_at_least(f"{prefix}.attribution_days", self.attribution_days, 1)
        check_at_least(f"{prefix}.coupon_days", self.coupon_days, 1)
        check_probability(f"{prefix}.fraud_share", self.fraud_share)
        if self.fraud_share >= 1.0:
            raise ConfigError(f"{prefix}.fraud_share", self.fraud_share, "must be in [0, 1)")
        check_probability(f"{prefix}.detection_rate", self.detection_rate)
        check_non_negative(f"{prefix}.referred_churn_multiplier", self.referred_churn_multiplier)


@register
class Referral(Mechanism):
    outside_window = frozenset({"adjust_churn", "end_day", "on_orders", "ration"})
    option = "referral"
    settings = ReferralConfig
    feature = "referral"  # the platform must offer it (platform.social_features)
    family = "referral"
    DAILY = ("referral_invites_sent", "referral_invites_accepted", "referral_conversions",
             "referral_rewards_paid", "referral_fraud_losses")

    def __init__(self, key, cfg: ReferralConfig, model, index):
        super().__init__(key, cfg, model, index)
        n = model.n
        self.inviter_cents = int(round(cfg.inviter_reward * 100))
        self.invitee_cents = int(round(cfg.invitee_reward * 100))
        reward = cfg.inviter_reward + cfg.invitee_reward
        self.reward_response = reward / (reward + cfg.reward_half_saturation)  # R / (R + H), 0 when R = 0
        s = model.consumers.sharing_propensity
        self.share_factor = s / s.mean() if s.mean() > 0 else np.ones(n)
        invitee_boost = 1.0 + cfg.invitee_reward / (cfg.invitee_reward + cfg.reward_half_saturation)
        self.accept_prob = np.minimum(1.0, cfg.accept_rate * model.consumers.friends_factor * invitee_boost)

        self.referrer = np.full(n, -1, dtype=np.int64)  # inviter of the live or last bound referral
        self.referral_day = np.full(n, -1, dtype=np.int32)  # day the invitee accepted
        self.converted = np.zeros(n, dtype=bool)  # a credited referral
        self.rewarded = np.zeros(n, dtype=np.int32)  # rewarded referrals per inviter (per_user_cap)
        self.has_invited = np.zeros(n, dtype=bool)  # sent at least one invitation
        self._share_pool = np.zeros(0, dtype=np.int64)  # customers active yesterday
        self.reward_cents = 0  # rewards to consumers: cash + this mechanism's coupon discounts
        self.fraud_cents = 0

        net = model.network
        self._community = net.community
        if net.community is not None:
            comm = np.asarray(net.community, dtype=np.int64)
            self._members = np.argsort(comm, kind="stable")
            size = np.bincount(comm)
            self._comm_start = np.concatenate(([0], np.cumsum(size)[:-1]))
            self._comm_size = size
            rank = np.empty(n, dtype=np.int64)
            rank[self._members] = np.arange(n) - self._comm_start[comm[self._members]]
            self._comm_rank = rank

    # ------------------------------------------------------------------ naming
    def _name(self, name: str) -> str:
        """Summary key: as given for the option key ``referral``; prefixed with the key otherwise."""
        if self.key == "referral":
            return name
        return f"{self.key}_{name}" if name == "k_factor" else name.replace("referral", self.key, 1)

    # ------------------------------------------------------------------ who
    def targeted(self, model, idx: np.ndarray) -> np.ndarray:
        """Which of consumers ``idx`` may send invitations today: the base target rule,
        with ``per_user_cap`` counting rewarded referrals per inviter (not benefits)."""
        target = self.cfg.target
        if target == "new_users":  # refused by validate; kept for completeness
            mask = np.zeros(len(idx), dtype=bool)
        elif target == "customers":
            mask = model.consumers.first_purchase_day[idx] >= 0
        elif self._segment is not None:
            mask = self._segment[idx].copy()
        else:
            mask = np.ones(len(idx), dtype=bool)
        if self.cfg.per_user_cap is not None:
            mask &= self.rewarded[idx] < self.cfg.per_user_cap
        return mask

    def _live(self, model, idx: np.ndarray) -> np.ndarray:
        """Bound invitees in their attribution window who have not bought yet."""
        day = self.referral_day[idx]
        return ((day >= 0) & (model.day <= day + self.cfg.attribution_days - 1)
                & (model.consumers.first_purchase_day[idx] < 0))

    def _pick_targets(self, model, src: np.ndarray, u_pick: np.ndarray, to_comm: np.ndarray) -> np.ndarray:
        """Invitees of invitations sent by ``src`` (-1 where none: a friendless sender,
        a community of one). Friends: ``indices[indptr[i] + floor(u * k_i)]``; complete
        graph or community without ``network.community``: a uniform other consumer."""
        n, net = model.n, model.network
        target = np.full(len(src), -1, dtype=np.int64)

        def uniform_other(sel):
            j = np.minimum(np.floor(u_pick[sel] * (n - 1)).astype(np.int64), n - 2)
            return j + (j >= src[sel])

        friend = ~to_comm
        if net.adjacency is None:
            target[friend] = uniform_other(friend)
        else:
            adj = net.adjacency
            deg = np.asarray(net.degree, dtype=np.int64)[src]
            ok = friend & (deg > 0)
            k = np.minimum(np.floor(u_pick[ok] * deg[ok]).astype(np.int64), deg[ok] - 1)
            target[ok] = adj.indices[adj.indptr[src[ok]].astype(np.int64) + k]
        if to_comm.any():
            if self._community is None:
                target[to_comm] = uniform_other(to_comm)
            else:
                s = src[to_comm]
                comm = np.asarray(self._community, dtype=np.int64)[s]
                others = self._comm_size[comm] - 1
                ok = others > 0
                k = np.minimum(np.floor(u_pick[to_comm][ok] * others[ok]).astype(np.int64), others[ok] - 1)
                k += k >= self._comm_rank[s[ok]]  # skip the sender itself
                chosen = np.full(len(s), -1, dtype=np.int64)
                chosen[ok] = self._members[self._comm_start[comm[ok]] + k]
                target[to_comm] = chosen
        return target

    # ------------------------------------------------------------------ hooks
    def outreach(self, model) -> None:
        cfg, c, n, day = self.cfg, model.consumers, model.n, model.day
        per = cfg.invites_per_sender
        # Full-length draws, indexed by consumer (sender), whatever today's senders are.
        u_send = self.rng.random(n)
        u_pick = self.rng.random((n, per))
        u_comm = self.rng.random((n, per)) if cfg.community_share > 0 else None
        u_accept = self.rng.random((n, per))
        if self.reward_response <= 0 or cfg.invite_rate <= 0:
            return
        pool = self._share_pool
        pool = pool[~c.churned[pool] & self.targeted(model, pool)]
        p_send = np.minimum(1.0, cfg.invite_rate * self.share_factor[pool] * self.reward_response)
        senders = pool[u_send[pool] < p_send]
        if senders.size == 0:
            return
        src = np.repeat(senders, per)
        u_p = u_pick[senders].ravel()
        to_comm = (u_comm[senders].ravel() < cfg.community_share) if u_comm is not None \
            else np.zeros(src.size, dtype=bool)
        invitee = self._pick_targets(model, src, u_p, to_comm)
        sent = invitee >= 0
        src, invitee, u_a = src[sent], invitee[sent], u_accept[senders].ravel()[sent]
        self.count("referral_invites_sent", int(src.size))
        self.has_invited[src] = True
        # Acceptance: never bought, no live referral, and the draw below the invitee's probability.
        eligible = (c.first_purchase_day[invitee] < 0) & ~self._live(model, invitee)
        acc = eligible & (u_a < self.accept_prob[invitee])
        if not acc.any():
            return
        src, invitee, u_a = src[acc], invitee[acc], u_a[acc]
        order = np.lexsort((u_a, invitee))  # by invitee, then the lowest draw first
        invitee, src = invitee[order], src[order]
        first = np.concatenate(([True], invitee[1:] != invitee[:-1]))
        invitee, src = invitee[first], src[first]
        self.referrer[invitee] = src
        self.referral_day[invitee] = day
        self.count("referral_invites_accepted", int(invitee.size))
        if cfg.reward_form == "coupon" and self.invitee_cents > 0:
            model.wallet.issue(invitee, self.invitee_cents, 0, day + cfg.attribution_days - 1, self.index, day)
        new = model.make_aware(invitee, SOURCE_REFERRAL)
        self.count("referral_new_aware", int(new.size))
        model.visit_boost[invitee] = True

    def adjust_offer(self, model, offer) -> None:
        """Cash form: the promised invitee reward acts as a price cut of min(I, price)."""
        if self.cfg.reward_form != "cash" or self.invitee_cents <= 0:
            return
        pending = self._live(model, offer.who)
        if not pending.any():
            return
        rebate = np.minimum(self.invitee_cents, offer.paid_cents[pending]) / 100.0
        beta = model.consumers.price_sensitivity[offer.who[pending]]
        offer.utility_shift[pending] += beta * rebate / model.reference_price

    def on_orders(self, model, orders) -> None:
        cfg, day = self.cfg, model.day
        mine = orders.discounts.get(self.key)
        if mine is not None:
            redeemed = int(mine.sum())
            if redeemed:  # coupon rewards, paid as discounts on the orders
                self._add_rewards(redeemed)
        who = orders.who
        ref = self.referrer[who]
        conv = (orders.new_customer & (ref >= 0)
                & (day <= self.referral_day[who] + cfg.attribution_days - 1))
        if not conv.any():
            return
        invitees, inviters = who[conv], ref[conv]
        self.converted[invitees] = True
        self.count("referral_conversions", int(invitees.size))
        if cfg.reward_form == "cash" and self.invitee_cents > 0:
            paid = self.pay(model, invitees, np.full(invitees.size, self.invitee_cents), "invitee_reward")
            self._add_rewards(int(paid.sum()) * self.invitee_cents)
        if self.inviter_cents <= 0:
            return
        inviters = inviters[self._under_cap(inviters)]
        if inviters.size == 0:
            return
        if cfg.reward_form == "cash":
            paid = self.pay(model, inviters, np.full(inviters.size, self.inviter_cents), "inviter_reward")
            np.add.at(self.rewarded, inviters[paid], 1)
            self._add_rewards(int(paid.sum()) * self.inviter_cents)
        else:
            self._give_inviter_coupons(model, inviters)

    def adjust_churn(self, model, customers: np.ndarray, hazard: np.ndarray) -> np.ndarray:
        """Referred customers retain better (Schmitt, Skiera & Van den Bulte 2011): the churn
        hazard of a converted invitee is multiplied by ``referred_churn_multiplier``."""
        return np.where(self.converted[customers], hazard * self.cfg.referred_churn_multiplier, hazard)

    def _under_cap(self, inviters: np.ndarray) -> np.ndarray:
        """Mask of the conversions whose inviter stays within ``per_user_cap`` (in order)."""
        cap = self.cfg.per_user_cap
        if cap is None:
            return np.ones(inviters.size, dtype=bool)
        order = np.argsort(inviters, kind="stable")
        s = inviters[order]
        pos = np.arange(s.size)
        start = np.maximum.accumulate(np.where(np.concatenate(([True], s[1:] != s[:-1])), pos, 0))
        ok = np.empty(s.size, dtype=bool)
        ok[order] = self.rewarded[s] + (pos - start) < cap
        return ok

    def _give_inviter_coupons(self, model, inviters: np.ndarray) -> None:
        """Coupon form: each inviter's rewards of the day in one coupon (threshold 0, valid
        ``coupon_days``); added to a valid coupon of this mechanism it already holds."""
        w, day = model.wallet, model.day
        last = day + self.cfg.coupon_days
        who, times = np.unique(inviters, return_counts=True)
        value = times.astype(np.int64) * self.inviter_cents
        top_up = w.valid(who, day) & (w.owner[who] == self.index)
        w.value_cents[who[top_up]] += value[top_up]
        w.last_day[who[top_up]] = last
        took = top_up.copy()
        for v in np.unique(value[~top_up]):  # a few distinct values (1, 2, ... rewards today)
            sel = np.flatnonzero(~top_up & (value == v))
            took[sel] = w.issue(who[sel], int(v), 0, last, self.index, day)
        np.add.at(self.rewarded, who[took], times[took])
        refused = int(times[~took].sum())
        if refused:  # held a bigger coupon of another mechanism: reward forfeited
            self.count("referral_inviter_coupons_refused", refused)

    def _add_rewards(self, cents: int) -> None:
        self.reward_cents += cents
        self.count("referral_rewards_paid", cents / 100)

    def end_day(self, model) -> None:
        c = model.consumers
        self._share_pool = np.flatnonzero(c.active & (c.first_purchase_day >= 0) & ~c.churned)
        # Fraud: two uniforms a day, always (constant use of the stream). Fake claims are
        # Poisson with mean C f / (1 - f); split by detection (Poisson thinning) into
        # detected ~ Poisson(m d) and undetected ~ Poisson(m (1 - d)).
        u = np.clip(self.rng.random(2), _U_EPS, 1.0 - _U_EPS)
        cfg = self.cfg
        real = self.today.get("referral_conversions", 0)
        if real == 0 or cfg.fraud_share <= 0:
            return
        from scipy.stats import poisson  # imported here: scipy.stats costs ~0.5 s, only fraud needs it

        mean = real * cfg.fraud_share / (1.0 - cfg.fraud_share)
        detected = int(poisson.ppf(u[0], mean * cfg.detection_rate))
        undetected = int(poisson.ppf(u[1], mean * (1.0 - cfg.detection_rate)))
        self.count("referral_fake_claims", detected + undetected)
        self.count("referral_fake_detected", detected)
        per_claim = self.inviter_cents + self.invitee_cents
        if undetected == 0 or per_claim == 0:
            return
        paid = self.pay(model, np.full(undetected, -1), np.full(undetected, per_claim), "fraud")
        cents = int(paid.sum()) * per_claim
        self.fraud_cents += cents
        self.count("referral_fraud_losses", cents / 100)

    # ------------------------------------------------------------------ KPIs
    def summary(self, model) -> dict:
        t = self.totals
        sent = int(t.get("referral_invites_sent", 0))
        accepted = int(t.get("referral_invites_accepted", 0))
        conversions = int(t.get("referral_conversions", 0))
        inviters = int(self.has_invited.sum())
        out = {
            "k_factor": conversions / inviters if inviters else None,
            "referral_inviters": inviters,
            "referral_invites_sent": sent,
            "referral_invites_per_inviter": sent / inviters if inviters else None,
            "referral_invites_accepted": accepted,
            "referral_accept_rate": accepted / sent if sent else None,
            "referral_conversions": conversions,
            "referral_conversion_rate": conversions / sent if sent else None,
            "referral_new_aware": int(t.get("referral_new_aware", 0)),
            "referral_rewards_paid": self.reward_cents / 100,
            "referral_fraud_losses": self.fraud_cents / 100,
            "referral_fake_claims": int(t.get("referral_fake_claims", 0)),
            "referral_fake_detected": int(t.get("referral_fake_detected", 0)),
            "referral_inviter_coupons_refused": int(t.get("referral_inviter_coupons_refused", 0)),
            **self.customer_values(model),
        }
        return {self._name(k): v for k, v in out.items()}

    def customer_values(self, model, horizon: int = 30) -> dict:
        """Value (paid amount, yuan) in the first ``horizon`` days from the first purchase, of
        the customers the referral brought in against the other customers who first bought
        in its window (only cohorts observed that long): the referral advantage, which
        emerges from homophily (invitees resemble their inviters) and from
        ``referred_churn_multiplier`` where it is below 1."""
        c = model.consumers
        day, who = model.ledger.column("day"), model.ledger.column("consumer")
        first = c.first_purchase_day[who]
        early = day < first + horizon
        paid = np.bincount(who[early], minlength=model.n,
                           weights=(model.ledger.column("value_cents").astype(np.float64)
                                    - model.ledger.column("discount_cents"))[early]) / 100
        end = min(self.cfg.end_day if self.cfg.end_day is not None else model.day, model.day - horizon + 1)
        cohort = (c.first_purchase_day >= self.cfg.start_day) & (c.first_purchase_day <= end)
        referred, others = paid[self.converted & cohort], paid[~self.converted & cohort]
        mean = {k: float(v.mean()) if len(v) else None for k, v in (("referred", referred), ("others", others))}
        return {"referral_value_referred": mean["referred"], "referral_value_others": mean["others"],
                "referral_value_ratio": (mean["referred"] / mean["others"]
                                         if mean["referred"] is not None and mean["others"] else None)}
