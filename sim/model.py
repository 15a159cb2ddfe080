"""The market: a ``mesa.Model`` whose step is one day of vectorized phases.

Phase order of one day (law ``market``), fixed:

1. ``kol_posts``      KOLs decide to post; engaged followers become aware.
2. ``awareness``      innovation (platform traffic, ads) + imitation (word of mouth).
3. ``visits``         aware, not churned consumers visit the platform (active users).
4. ``purchases``      each visitor sees one product and buys it or not (logit).
5. ``satisfaction``   buyers compare realized quality with their expectation.
6. ``word_of_mouth``  satisfied buyers may promote, dissatisfied ones may warn.
7. ``churn``          customers churn with a daily hazard.
8. ``platform``       merchants and platform book the day; traffic is re-allocated.

Law ``bass`` replaces phases 1-7 by one: ``bass_adoption`` (a non-adopter buys
with probability p + q x share of its neighbours who bought; once only).
The equations are in ``docs/model.md``.
"""

from __future__ import annotations

import math
import time

import mesa
import numpy as np
from tqdm.auto import tqdm

from agents.consumers import SOURCE_ADS, SOURCE_FRIENDS, SOURCE_KOL, Consumers
from agents.kol import KOL
from agents.merchant import Merchant
from agents.platform import Platform
from sim.catalogue import Catalogue
from sim.config import SimConfig
from sim.ledger import OrderLedger
from sim.metrics import MetricsRecorder
from sim.network import build_follower_graph, build_network
from sim.streams import RandomStreams

MARKET_PHASES = ("kol_posts", "awareness", "visits", "purchases", "satisfaction",
                 "word_of_mouth", "churn", "platform")
BASS_PHASES = ("bass_adoption", "platform")


class MarketModel(mesa.Model):
    """A social-commerce market. ``MarketModel(config).run()``; one ``step()`` is one day.

    ``config`` is a validated :class:`~sim.config.SimConfig`. Every draw comes
    from ``self.streams[<phase>]``, children of one ``SeedSequence(config.seed)``;
    Mesa's own ``self.rng`` is the ``mesa`` child.
    """

    def __init__(self, config: SimConfig):
        config.validate()
        self.config = config
        self.streams = RandomStreams(config.seed)
        super().__init__(rng=self.streams["mesa"])
        self.day = 0  # days completed; step() simulates day self.day + 1
        self.phases = BASS_PHASES if config.scenario.law == "bass" else MARKET_PHASES

        self.network = build_network(config.network, config.population.size, self.streams["network"])
        self.n = self.network.n
        self.consumers = Consumers(self.n, config.population, self.streams["traits"])
        self.catalogue = Catalogue.generate(config.market, self.streams["catalogue"])
        self.reference_price = self.catalogue.reference_price
        self.ledger = OrderLedger()
        self.metrics = MetricsRecorder(config.days)

        self.platform = Platform(self, config.platform, self.catalogue.quality)
        self.merchants = [Merchant(self, m, np.flatnonzero(self.catalogue.merchant == m))
                          for m in range(config.market.merchants)]
        self._build_kols()

        mk = config.market
        # Customer visit probability by days since the last purchase (index 0 = the day after).
        since = np.arange(config.days + 2)
        self._customer_visit = (mk.customer_visit_floor + (mk.customer_visit_peak - mk.customer_visit_floor)
                                * np.exp(-since / mk.visit_decay_days))
        self.n_aware = self.n_adopters = self.n_churned = 0
        self._reset_today()

    # ------------------------------------------------------------------ set-up
    def _build_kols(self) -> None:
        kcfg = self.config.population.kols
        self.follower_graph = build_follower_graph(kcfg, self.n, self.streams["followers"])
        followers = np.diff(self.follower_graph.indptr)
        self.kol_engagement = KOL.engagement_for(followers, kcfg.engagement_at_1k, kcfg.engagement_elasticity)
        self.kols = [KOL(self, k, followers[k], self.kol_engagement[k], kcfg.posts_per_week / 7.0)
                     for k in range(kcfg.count)]

    def _reset_today(self) -> None:
        empty = np.zeros(0, dtype=np.int64)
        self._visitors = empty
        self._buyers = empty
        self._products = empty
        self._satisfied = np.zeros(0, dtype=bool)
        self._today = {"new_customers": 0, "repeat_buyers": 0, "kol_posts": 0, "kol_reach": 0,
                       "kol_engagements": 0, "gmv_cents": 0, "orders": 0, "discount_cents": 0,
                       "commission_cents": 0, "cost_cents": 0}

    # ------------------------------------------------------------------ clock
    def step(self) -> None:
        """Simulate one day: every phase in order, then record the day's metrics."""
        if self.day >= self.config.days:
            raise RuntimeError(f"the run is over: days={self.config.days}")
        self.day += 1
        self._reset_today()
        for phase in self.phases:
            getattr(self, f"_phase_{phase}")()
        self._record_day()

    def run(self, progress: bool = False) -> "MarketModel":
        """Simulate the remaining days. ``progress`` shows day, elapsed time and days/s
        on runs longer than two seconds."""
        remaining = self.config.days - self.day
        with tqdm(total=remaining, unit="day", desc="simulating", delay=2.0, disable=not progress,
                  dynamic_ncols=True) as bar:
            for _ in range(remaining):
                self.step()
                bar.update(1)
        return self

    # ------------------------------------------------------------------ phases
    def _make_aware(self, idx: np.ndarray, source: np.ndarray | int) -> None:
        c = self.consumers
        c.aware[idx] = True
        c.aware_day[idx] = self.day
        c.aware_source[idx] = source
        self.n_aware += len(idx)

    def _phase_kol_posts(self) -> None:
        c, rng = self.consumers, self.streams["kol"]
        posting = [kol.index for kol in self.kols if kol.decide_post(rng)]
        self._today["kol_posts"] = len(posting)
        if not posting:
            return
        rows = self.follower_graph[posting]
        exposed = rows.indices
        rate = np.repeat(self.kol_engagement[posting], np.diff(rows.indptr))
        engaged_edges = rng.random(len(exposed)) < rate
        engaged = np.unique(exposed[engaged_edges])
        c.kol_touch_day[engaged] = self.day
        self._make_aware(engaged[~c.aware[engaged]], SOURCE_KOL)
        self._today["kol_reach"] = len(exposed)
        self._today["kol_engagements"] = int(engaged_edges.sum())

    def _word_of_mouth_shares(self) -> None:
        """Shares of each consumer's neighbours promoting and warning today (one matvec)."""
        promoters, detractors = self.consumers.talking(self.day)
        shares = self.network.neighbour_share(np.column_stack([promoters, detractors]).astype(np.float32))
        self.positive_share, self.negative_share = shares[:, 0], shares[:, 1]

    def _phase_awareness(self) -> None:
        c, d = self.consumers, self.config.diffusion
        self._word_of_mouth_shares()
        candidates = np.flatnonzero(~c.aware)
        u = self.streams["awareness"].random(len(candidates))
        p_i = d.innovation * c.ads_factor[candidates]
        q_i = d.imitation * c.friends_factor[candidates] * self.positive_share[candidates]
        new = u < np.minimum(1.0, p_i + q_i)
        from_ads = u < p_i
        self._make_aware(candidates[new], np.where(from_ads[new], SOURCE_ADS, SOURCE_FRIENDS))

    def _phase_visits(self) -> None:
        c, mk = self.consumers, self.config.market
        eligible = np.flatnonzero(c.aware & ~c.churned)
        last = c.last_purchase_day[eligible]
        prob = np.where(last >= 0, self._customer_visit[np.maximum(self.day - last - 1, 0)],
                        mk.prospect_visit_prob)
        prob[(c.aware_day[eligible] == self.day) | (c.kol_touch_day[eligible] == self.day)] = 1.0
        visitors = eligible[self.streams["visits"].random(len(eligible)) < prob]
        c.active[:] = False
        c.active[visitors] = True
        self._visitors = visitors

    def _choose_products(self, count: int) -> np.ndarray:
        """Which product each of ``count`` visitors is shown (platform traffic allocation)."""
        cumulative = np.cumsum(self.platform.traffic_share)
        u = self.streams["choice"].random(count) * cumulative[-1]
        return np.minimum(np.searchsorted(cumulative, u, side="right"), len(cumulative) - 1)

    def _purchase_probability(self, who: np.ndarray, product: np.ndarray) -> np.ndarray:
        """Logit purchase probability of consumers ``who`` for ``product`` (0 if over budget)."""
        c, mk, cat = self.consumers, self.config.market, self.catalogue
        price = cat.list_price[product]
        ref = self.reference_price
        # Trust in today's source: own experience for customers, else the KOL or the first source.
        satisfied = c.satisfied_last[who]
        src = c.aware_source[who]
        trust = np.where(src == SOURCE_FRIENDS, c.trust_friends[who],
                         np.where(src == SOURCE_KOL, c.trust_kol[who], c.trust_ads[who]))
        trust = np.where(c.kol_touch_day[who] == self.day, c.trust_kol[who], trust)
        trust = np.where(satisfied >= 0, satisfied.astype(np.float64), trust)
        utility = (mk.base_utility
                   + mk.quality_weight * (cat.quality[product] - c.quality_expectation[who])
                   - c.price_sensitivity[who] * (price - ref) / ref
                   + mk.social_proof_weight * self.positive_share[who]
                   - mk.negative_wom_weight * self.negative_share[who]
                   + mk.source_trust_weight * trust)
        prob = 1.0 / (1.0 + np.exp(-utility))
        return np.where(price <= c.budget[who], prob, 0.0)

    def _phase_purchases(self) -> None:
        who = self._visitors
        product = self._choose_products(len(who))
        buy = self.streams["purchase"].random(len(who)) < self._purchase_probability(who, product)
        self._book_orders(who[buy], product[buy])

    def _book_orders(self, buyers: np.ndarray, product: np.ndarray) -> None:
        """Orders at list price: ledger, customers' state, merchants and platform."""
        c, cat = self.consumers, self.catalogue
        new = c.first_purchase_day[buyers] < 0
        c.first_purchase_day[buyers[new]] = self.day
        c.last_purchase_day[buyers] = self.day
        c.n_orders[buyers] += 1
        n_new = int(new.sum())
        self.n_adopters += n_new
        self.metrics.cohorts.add_new_customers(self.day, n_new)
        merchant = cat.merchant[product]
        value = cat.list_price_cents[product]
        cost = cat.unit_cost_cents[product]
        discount = np.zeros_like(value)
        totals, commission = self.ledger.record(self.day, buyers, product, merchant, value, discount,
                                                self.platform.commission_rate, cost)
        self.platform.book(product, totals["commission_cents"])
        n_merchants = len(self.merchants)
        orders_by = np.bincount(merchant, minlength=n_merchants)
        revenue_by = np.bincount(merchant, weights=value - discount - commission, minlength=n_merchants)
        cost_by = np.bincount(merchant, weights=cost, minlength=n_merchants)
        for m in np.flatnonzero(orders_by):  # a handful of merchants, not consumers
            self.merchants[m].book(int(orders_by[m]), int(revenue_by[m]), int(cost_by[m]))
        self._buyers, self._products = buyers, product
        self._today.update(new_customers=n_new, repeat_buyers=len(buyers) - n_new,
                           gmv_cents=totals["gmv_cents"], orders=totals["orders"],
                           discount_cents=totals["discount_cents"],
                           commission_cents=totals["commission_cents"], cost_cents=totals["cost_cents"])

    def _phase_satisfaction(self) -> None:
        c, mk = self.consumers, self.config.market
        buyers, product = self._buyers, self._products
        realized = self.catalogue.quality[product] + mk.quality_noise * self.streams["satisfaction"].standard_normal(len(buyers))
        self._satisfied = realized >= c.quality_expectation[buyers] - mk.satisfaction_tolerance
        c.satisfied_last[buyers] = self._satisfied

    def _phase_word_of_mouth(self) -> None:
        c, mk = self.consumers, self.config.market
        buyers, satisfied = self._buyers, self._satisfied
        share = c.sharing_propensity[buyers]
        prob = np.where(satisfied, share, np.minimum(1.0, mk.negative_wom_multiplier * share))
        talk = self.streams["wom"].random(len(buyers)) < prob
        c.wom_sign[buyers] = np.where(talk, np.where(satisfied, 1, -1), 0)
        c.wom_until[buyers] = np.where(talk, self.day + mk.wom_days, -1)

    def _phase_churn(self) -> None:
        c, mk = self.consumers, self.config.market
        customers = np.flatnonzero((c.first_purchase_day >= 0) & ~c.churned)
        hazard = mk.churn_hazard * np.where(c.satisfied_last[customers] == 0, mk.dissatisfied_churn_multiplier, 1.0)
        leave = customers[self.streams["churn"].random(len(customers)) < np.minimum(hazard, 1.0)]
        c.churned[leave] = True
        self.n_churned += len(leave)

    def _phase_bass_adoption(self) -> None:
        """Bass law: a non-adopter buys with probability p + q x (share of neighbours who bought)."""
        c, d = self.consumers, self.config.diffusion
        adopted = c.first_purchase_day >= 0
        candidates = np.flatnonzero(~adopted)
        share = self.network.neighbour_share(adopted)[candidates]
        u = self.streams["awareness"].random(len(candidates))
        new = candidates[u < np.minimum(1.0, d.innovation + d.imitation * share)]
        self._make_aware(new, SOURCE_ADS)
        c.active[:] = False
        c.active[new] = True
        self._visitors = new
        self._book_orders(new, self._choose_products(len(new)))

    def _phase_platform(self) -> None:
        self.platform.step()

    # ------------------------------------------------------------------ metrics
    def _record_day(self) -> None:
        c, t = self.consumers, self._today
        active_customers = self._visitors[c.first_purchase_day[self._visitors] >= 0]
        self.metrics.cohorts.add_active(self.day, c.first_purchase_day[active_customers])
        promoters, detractors = c.talking(self.day + 1)
        revenue = t["gmv_cents"] - t["discount_cents"] - t["commission_cents"]
        self.metrics.record({
            "day": self.day, "gmv": t["gmv_cents"] / 100, "orders": t["orders"],
            "buyers": len(np.unique(self._buyers)), "new_customers": t["new_customers"],
            "repeat_buyers": t["repeat_buyers"], "active_users": len(self._visitors),
            "aware": self.n_aware, "adopters": self.n_adopters, "churned": self.n_churned,
            "promoters": int(promoters.sum()), "detractors": int(detractors.sum()),
            "kol_posts": t["kol_posts"], "kol_reach": t["kol_reach"], "kol_engagements": t["kol_engagements"],
            "discounts": t["discount_cents"] / 100, "commission": t["commission_cents"] / 100,
            "merchant_revenue": revenue / 100, "margin": (revenue - t["cost_cents"]) / 100,
        })

    def summary(self) -> dict:
        """Run totals and KPIs (money in yuan, retention as shares, ``None`` where undefined)."""
        led, coh = self.ledger, self.metrics.cohorts
        orders = led.n_orders
        margin_cents = led.merchant_revenue_cents - led.cost_cents
        return {
            "scenario": self.config.scenario.name, "law": self.config.scenario.law,
            "seed": self.config.seed, "days": self.day, "population": self.n,
            "network": self.network.kind, "mean_degree": round(float(self.network.mean_degree), 4),
            "gmv": led.gmv_cents / 100, "orders": orders, "customers": self.n_adopters,
            "aov": (led.gmv_cents / 100 / orders) if orders else None,
            "retention_d1": coh.retention(1), "retention_d7": coh.retention(7),
            "retention_d30": coh.retention(30),
            "aware": self.n_aware, "churned": self.n_churned,
            "merchant_revenue": led.merchant_revenue_cents / 100,
            "platform_commission": led.commission_cents / 100,
            "discounts": led.discount_cents / 100, "merchant_margin": margin_cents / 100,
            "kol_posts": sum(k.posts for k in self.kols),
        }
