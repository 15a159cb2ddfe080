"""The market: a ``mesa.Model`` whose step is one day, a table of phases and hooks.

The day is data (:data:`MARKET_DAY`, or :data:`LAW_DAY` for a classic law alone): each
:class:`Phase` names the model method that runs it and the campaign hook called after
it. The consumer's rules — hearing, visiting, choosing and buying, judging, talking,
churning — are vectorized functions over the population arrays in ``agents/``; the
phases here apply them to the model's state (the clock and the world: network,
ledger, wallet, metrics).

Campaign mechanisms (``scenarios/``) act through hooks: ``start_day``,
``post_content``, ``outreach`` and ``end_day`` (after their phases, from the table),
``adjust_offer``, ``ration``, ``take_deferred`` and ``on_orders`` (in purchases),
``adjust_sharing`` (in word of mouth) and ``adjust_churn`` (in churn); ``sold_through``
(as orders are booked) names the orders sold through a mechanism's sales channel. Every hook is
called through :meth:`MarketModel.mechanisms_for`: a mechanism acts while it runs
(in its window, budget left), or outside its window for the hooks it names in
``outside_window``. The equations are in ``docs/model.md``.
"""

from __future__ import annotations

from typing import NamedTuple

import mesa
import numpy as np
from tqdm.auto import tqdm

from agents import buying, churning, hearing, judging, laws, returning, reviewing, talking, visiting
from agents.consumers import SOURCE_ADS, SOURCE_FRIENDS, SOURCE_KOL, Consumers
from agents.kol import KOL
from agents.merchant import Merchant
from agents.platform import Platform
from scenarios.registry import daily_columns
from sim import calendar
from sim.arrivals import load_arrivals
from sim.catalogue import Catalogue
from sim.config import RETURN_CHANNELS, SimConfig
from sim.errors import ConfigError
from sim.ledger import OrderLedger, PaymentLedger
from sim.metrics import MerchantDays, MetricsRecorder
from sim.network import FriendsInStates, build_follower_graph, build_network
from sim.offer import Offer, Orders
from sim.reviews import ProductReviews
from sim.streams import RandomStreams
from sim.wallet import Wallet


class Phase(NamedTuple):
    """One step of the day: ``run`` names the model method (``_phase_<run>``; None: no
    work of the model's own), ``hook`` the mechanisms' hook called after it (or None)."""

    run: str | None
    hook: str | None = None


#: One day of the market, in order.
MARKET_DAY = (
    Phase("reputation", "start_day"),      # reviews due show; open windows, drop coupons, quality shocks
    Phase("kol_posts", "post_content"),    # KOLs post; engaged followers hear; sponsored content
    Phase("awareness", "outreach"),        # broadcast and word of mouth; invitations, team shares
    Phase("visits"),                       # aware, not churned consumers visit
    Phase("purchases"),                    # each visitor sees a product and buys or not
    Phase("satisfaction"),                 # buyers judge what they bought
    Phase("returns"),                      # some send it back; refunds due today are booked
    Phase("reviews"),                      # some buyers rate it (shown after delivery)
    Phase("word_of_mouth"),                # buyers promote or warn
    Phase("churn", "end_day"),             # customers leave; teams and coupons expire
    Phase("platform"),                     # merchants and platform book the day, re-allocate traffic
)
#: One day of a classic diffusion law run alone (``scenario.law`` other than ``market``,
#: ``agents/laws.py``): adoption replaces the consumer's rules.
LAW_DAY = (Phase(None, "start_day"), Phase("adoption"), Phase("platform"))
#: The phases' names, in order (the market's day).
MARKET_PHASES = tuple(p.run for p in MARKET_DAY if p.run)
#: A sales channel's code in the ledger's ``sales_channel`` column.
RETURN_CODE = {name: code for code, name in enumerate(RETURN_CHANNELS)}


def estimated_peak_bytes(config: SimConfig) -> int:
    """Peak memory of one run, estimated before building it (bytes): 250 MiB of
    interpreter and libraries, per consumer 150 bytes of arrays plus 32 per tie end
    (ties stored both ways, follower edges), the cohort table (days^2), and
    networkx's objects for ``holme_kim``. Measured peaks (60 days, BA): 320 bytes per
    consumer at mean degree 10, 870 at 30; the estimate is ~1.4x that."""
    n = config.population.size
    degree = n - 1 if config.network.kind == "complete" else config.network.mean_degree
    ties = 0 if config.network.kind == "complete" else n * degree
    per_tie = 32 + (600 if config.network.kind == "holme_kim" else 0)
    return int(250 * 2**20 + 150 * n + per_tie * ties + 16 * (config.days + 1) ** 2)


class MarketModel(mesa.Model):
    """A social-commerce market. ``MarketModel(config).run()``; one ``step()`` is one day.

    ``config`` is a validated :class:`~sim.config.SimConfig`. The market (network,
    traits, catalogue, KOL audiences) is drawn from ``self.market_streams``, children
    of ``SeedSequence(config.market_seed)``; every daily draw from
    ``self.streams[<phase>]``, children of ``SeedSequence(config.seed)``. Mesa's own
    ``self.rng`` is the ``mesa`` child.
    """

    def __init__(self, config: SimConfig):
        config.validate()
        self.config = config
        self.streams = RandomStreams(config.seed)
        self.market_streams = RandomStreams(config.market_seed_value)
        super().__init__(rng=self.streams["mesa"])
        self.day = 0  # days completed; step() simulates day self.day + 1
        self.schedule = MARKET_DAY if config.scenario.law == "market" else LAW_DAY
        self.phases = tuple(p.run for p in self.schedule if p.run)

        market = self.market_streams
        self.network = build_network(config.network, config.population.size, market["network"])
        self.n = self.network.n
        represents = config.population.represents
        #: simulated consumers per real user: scales the keys stated for the real market
        self.scale = 1.0 if represents is None else self.n / represents
        self.consumers = Consumers(self.n, config.population, market["traits"], self.network, market["homophily"],
                                   market["visit_propensity"])
        self.catalogue = (Catalogue.load(config.catalogue.path, config.market, market["catalogue"])
                          if config.catalogue.kind == "file" else Catalogue.generate(config.market, market["catalogue"]))
        self.n_merchants = self.catalogue.merchants if config.catalogue.kind == "file" else config.market.merchants
        self.reference_price = self.catalogue.reference_price  # the market's, before the platform's price level
        if config.platform.price_level != 1.0:  # the platform's prices; unit costs stay
            cat = self.catalogue
            cat.list_price_cents = np.maximum(np.round(cat.list_price_cents * config.platform.price_level), 1
                                              ).astype(np.int64)
        self.ledger = OrderLedger()
        self.payments = PaymentLedger()
        self.wallet = Wallet(self.n)
        self.metrics = MetricsRecorder(config.days, daily_columns())

        self.platform = Platform(self, config.platform, self.catalogue.quality)
        self.merchants = [Merchant(self, m, np.flatnonzero(self.catalogue.merchant == m))
                          for m in range(self.n_merchants)]
        self._build_kols()
        self.mechanisms = [cfg.mechanism(key, cfg, self, i) for i, (key, cfg) in enumerate(config.campaign.mechanisms)]
        self.mechanism = {m.key: m for m in self.mechanisms}

        d = config.diffusion
        #: −ln(1 − β) of each tie (hearing through it): the weights word of mouth counts
        self.tie_weights = hearing.tie_weights(self.network.strength, d.strong_tie, d.weak_tie)
        #: friends promoting merchant m (state m + 1) or warning about it (M + m + 1), M merchants
        self.talking_friends = FriendsInStates(self.network, 2 * self.n_merchants)
        self.reviews = ProductReviews(self.catalogue.size, config.reviews, self.scale)
        self.rating_term = np.zeros(self.catalogue.size)  # each product's rating in purchase utility
        self.merchant_days = MerchantDays(self.n_merchants)
        self.cascades: list[tuple[int, int, np.ndarray, np.ndarray]] = []  # (day, promoters among origins, sizes, depths)
        self._cascade_scratch: np.ndarray | None = None  # talking.cascades' per-consumer scratch, kept
        mk = config.market
        self.customer_visit = visiting.customer_visit_curve(mk.customer_visit_floor, mk.customer_visit_peak,
                                                            mk.visit_decay_days, config.days)
        #: each consumer's observed first-purchase day (``population.arrivals``), or None: the model acquires
        self.arrival_day = (load_arrivals(config.population.arrivals, self.n) if config.population.arrivals
                            else None)
        self.n_aware = self.n_adopters = self.n_churned = 0
        self._spent_yesterday = 0
        #: the classic diffusion law run alone (``scenario.law``), or None for the market
        self.law = None if config.scenario.law == "market" else self._build_law()
        self.visit_boost = np.zeros(self.n, dtype=bool)  # forced to visit today (campaign clicks)
        self.transacted = np.zeros(self.n, dtype=bool)  # ordered or joined a team today
        self.quality_shift = np.zeros(self.catalogue.size)  # today's shock to realized quality
        self._refunds_due: dict[int, list[np.ndarray]] = {}  # day -> ledger rows of orders refunded that day
        self._reset_today()

    # ------------------------------------------------------------------ set-up
    def _build_kols(self) -> None:
        kcfg = self.config.population.kols
        self.follower_graph = build_follower_graph(kcfg, self.n, self.market_streams["followers"])
        followers = np.diff(self.follower_graph.indptr)
        self.kol_engagement = np.minimum(1.0, KOL.engagement_for(followers, self.n, kcfg.engagement_at_1pct,
                                                                 kcfg.engagement_elasticity)
                                         * self.config.platform.content_multiplier)
        self.kols = [KOL(self, k, followers[k], self.kol_engagement[k], kcfg.posts_per_week / 7.0)
                     for k in range(kcfg.count)]

    def _build_law(self):
        """The law of ``scenario.law`` on this market's network; the seeds (``diffusion.seed_ids``,
        a file network's node ids mapped to consumers, else a ``seed_share``) from the
        dynamics stream ``seeding``, linear thresholds from ``thresholds``."""
        d, law = self.config.diffusion, self.config.scenario.law
        if law == "bass":
            return laws.Bass(self.network, d)
        ids = self._seed_ids(d.seed_ids) if d.seed_ids else None
        seeds = laws.seed_consumers(self.n, d.seed_share, ids, self.streams["seeding"])
        if law == "cascade":
            return laws.IndependentCascade(self.network, d, seeds)
        if law == "threshold":
            return laws.LinearThreshold(self.network, d, seeds, self.streams["thresholds"])
        return laws.Goldenberg(self.network, d, seeds)

    def _seed_ids(self, ids: tuple) -> np.ndarray:
        """``diffusion.seed_ids`` as consumer indices: a file network's own node ids, else 0..N-1."""
        node_ids = self.network.node_ids
        if node_ids is None:
            bad = [i for i in ids if not 0 <= i < self.n]
            if bad:
                raise ConfigError("diffusion.seed_ids", list(ids),
                                  f"consumer {bad[0]} does not exist: ids are 0..{self.n - 1}")
            return np.asarray(ids, dtype=np.int64)
        index = {node: k for k, node in enumerate(node_ids.tolist())}
        bad = [i for i in ids if i not in index]
        if bad:
            raise ConfigError("diffusion.seed_ids", list(ids),
                              f"node {bad[0]} is not in the network file {self.config.network.path}")
        return np.asarray([index[i] for i in ids], dtype=np.int64)

    def _reset_today(self) -> None:
        empty = np.zeros(0, dtype=np.int64)
        self._visitors = empty
        self._buyer_parts: list[np.ndarray] = []
        self._product_parts: list[np.ndarray] = []
        self._row_parts: list[np.ndarray] = []  # today's orders' rows in the ledger
        self._sales_parts: list[np.ndarray] = []  # and their sales channels (codes)
        self._buyers = empty
        self._products = empty
        self._satisfied = np.zeros(0, dtype=bool)
        self._gap = np.zeros(0)  # today's buyers' experience gaps (quality units)
        self._rated = np.zeros(0, dtype=bool)  # which of today's buyers rated
        self._kol_engaged: list[np.ndarray] = []  # followers who engaged with a KOL post today
        self.reshared_today = empty  # origins and resharers of today's cascades (consumer ids)
        self.reshare_origins_today = empty  # the posts that started them
        self.consumers.active[:] = False
        self.visit_boost[:] = False
        self.transacted[:] = False
        self.quality_shift[:] = 0.0
        self._uniforms: dict[str, np.ndarray] = {}

    def uniforms(self, stream: str) -> np.ndarray:
        """Today's uniform draw of every consumer in ``stream`` (drawn once per day, length N).

        Indexing one full-length draw by consumer keeps each consumer's random
        number independent of who else is in the phase: common random numbers
        between a campaign run and its baseline."""
        u = self._uniforms.get(stream)
        if u is None:
            u = self._uniforms[stream] = self.streams[stream].random(self.n)
        return u

    def uniforms_of(self, stream: str, who: np.ndarray) -> np.ndarray:
        """Today's uniform of each consumer of ``who`` in ``stream``, counter-based
        (``RandomStreams.uniform_at``): for the phases of today's buyers, a few thousand a
        day, where a full-length draw would cost N. The same consumer, day and stream give
        the same number whoever else is drawn (common random numbers)."""
        return self.streams.uniform_at(stream, self.day, who)

    def mechanisms_for(self, hook: str) -> list:
        """The mechanisms whose ``hook`` acts today: those running (in their window, budget
        left), and those that name the hook in ``outside_window`` (coupons that outlive
        their campaign, attribution windows, teams that expire after it)."""
        return [m for m in self.mechanisms if hook in m.outside_window or m.running(self.day)]

    def hook(self, name: str, *args) -> None:
        """Call hook ``name`` of every mechanism it acts for today."""
        for m in self.mechanisms_for(name):
            getattr(m, name)(self, *args)

    def adjust(self, name: str, value, *args):
        """Pass ``value`` through hook ``name`` of every mechanism it acts for today."""
        for m in self.mechanisms_for(name):
            value = getattr(m, name)(self, *args, value)
        return value

    # ------------------------------------------------------------------ clock
    def step(self) -> None:
        """Simulate one day: the schedule's phases and hooks in order, then record the day."""
        if self.day >= self.config.days:
            raise RuntimeError(f"the run is over: days={self.config.days}")
        self.day += 1
        self._reset_today()
        for phase in self.schedule:
            if phase.run:
                getattr(self, f"_phase_{phase.run}")()
            if phase.hook:
                self.hook(phase.hook)
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
    def make_aware(self, idx: np.ndarray, source: np.ndarray | int) -> np.ndarray:
        """Consumers ``idx`` hear of the market today from ``source``; returns those newly aware."""
        idx = np.unique(np.asarray(idx))
        new = idx[~self.consumers.aware[idx]] if self.arrival_day is None else idx[:0]
        self._make_aware(new, source)
        return new

    def _make_aware(self, idx: np.ndarray, source: np.ndarray | int) -> None:
        """Consumers ``idx`` (unaware) hear of the market today. With observed arrivals nobody
        hears but the day's arrivals (:meth:`_arrive`): the call does nothing."""
        if self.arrival_day is not None:
            return
        self._set_aware(idx, source)

    def _set_aware(self, idx: np.ndarray, source: np.ndarray | int) -> None:
        c = self.consumers
        c.aware[idx] = True
        c.aware_day[idx] = self.day
        c.aware_source[idx] = source
        self.n_aware += len(idx)

    def _phase_kol_posts(self) -> None:
        rng = self.streams["kol"]
        posting = [kol.index for kol in self.kols if kol.decide_post(rng)]
        self.metrics.count("kol_posts", len(posting))
        if posting:
            engaged, reach, engagements = self.kol_exposure(posting, self.kol_engagement[posting], rng)
            self.metrics.count("kol_reach", reach)
            self.metrics.count("kol_engagements", engagements)

    def kol_exposure(self, kols: list[int] | np.ndarray, engagement: np.ndarray,
                     rng: np.random.Generator) -> tuple[np.ndarray, int, int]:
        """Posts by KOLs ``kols`` reach their followers (``agents.hearing.engaged_followers``).
        Engaged followers are touched today and, if unaware, hear of the market (source
        KOL). Returns (engaged consumers, reach, engagements)."""
        c = self.consumers
        engaged, reach, engagements = hearing.engaged_followers(self.follower_graph, kols, engagement, rng)
        c.kol_touch_day[engaged] = self.day
        self._kol_engaged.append(engaged)
        self._make_aware(engaged[~c.aware[engaged]], SOURCE_KOL)
        return engaged, reach, engagements

    def _word_of_mouth_shares(self) -> tuple[np.ndarray, np.ndarray]:
        """Counts each consumer's friends promoting and warning today, by the merchant they
        talk about; returns who promotes and who warns (masks)."""
        c = self.consumers
        promoters, detractors = talking.talking(c.wom_until, c.wom_sign, self.day)
        self.talking_friends.set_states(talking.talking_states(promoters, detractors, c.wom_merchant,
                                                               self.n_merchants))
        return promoters, detractors

    def friends_shares(self, who: np.ndarray, product: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The shares of the friends of consumers ``who`` promoting and warning today about
        ``product``: those talking about its merchant, and a share ``reviews.wom_spillover``
        of those talking about the others (the purchase's social proof)."""
        merchants, spill = self.n_merchants, self.config.reviews.wom_spillover
        merchant, counts = self.catalogue.merchant[product], self.talking_friends.counts[who]
        rows = np.arange(len(who))
        promoting = reviewing.attached_share(counts[rows, merchant], counts[:, :merchants].sum(axis=1), spill)
        warning = reviewing.attached_share(counts[rows, merchants + merchant], counts[:, merchants:].sum(axis=1),
                                           spill)
        return self.talking_friends.per_friend(promoting, who), self.talking_friends.per_friend(warning, who)

    def _phase_awareness(self) -> None:
        """Broadcast channels and word of mouth, counted by ties: today's talkers (promoters
        and warners), the consumers who reshared a post today, and engaged KOL followers who
        reposted (``agents.hearing``, ``agents.talking.cascades``). A consumer who reshared a
        post has seen it: it is aware from today, heard from friends."""
        c, d = self.consumers, self.config.diffusion
        if self.arrival_day is not None:
            self._arrive()
        promoters, warners = self._word_of_mouth_shares()
        spreading = promoters | warners
        reshared = self._reshares(promoters)
        spreading[reshared] = True
        if self.arrival_day is None:  # observed arrivals: nobody hears from broadcast or friends
            candidates = np.flatnonzero(~c.aware)
            exposure = self.network.weighted_count(spreading, self.tie_weights, candidates)
            p_i = hearing.broadcast_hazard(d.innovation, self.config.platform.traffic_multiplier,
                                           c.ads_factor[candidates])
            q_i = hearing.word_of_mouth_hazard(exposure, c.friends_factor[candidates])
            new, from_ads = hearing.hear(self.uniforms("awareness")[candidates], p_i, q_i)
            self._make_aware(candidates[new], np.where(from_ads[new], SOURCE_ADS, SOURCE_FRIENDS))
        self._make_aware(np.unique(reshared[~c.aware[reshared]]), SOURCE_FRIENDS)  # who reshared a post saw it

    def _arrive(self) -> None:
        """Observed arrivals (``population.arrivals``): today's arrivals enter the market, aware
        from today (source ads: the merchant's own traffic), so they visit today (a forced
        visit) and buy for sure (:meth:`_phase_purchases`)."""
        today = np.flatnonzero(self.arrival_day == self.day)
        self._set_aware(today, SOURCE_ADS)

    def _reshares(self, promoters: np.ndarray) -> np.ndarray:
        """Today's cascades: posts by the promoters whose word of mouth starts today, and
        reposts by the followers who engaged with a KOL post (each with probability
        ``diffusion.reshare``), reshared along ties. Returns who spread them (origins and
        resharers) and records each cascade (``cascades.parquet``)."""
        d, c, adj = self.config.diffusion, self.consumers, self.network.adjacency
        if d.reshare <= 0 or adj is None:
            return np.zeros(0, dtype=np.int64)
        u = self.uniforms("reshare")
        posting = np.flatnonzero(promoters & (c.wom_until == self.day + self.config.market.wom_days - 1))
        engaged = np.unique(np.concatenate(self._kol_engaged)) if self._kol_engaged else np.zeros(0, np.int64)
        reposting = np.setdiff1d(engaged[u[engaged] < d.reshare], posting)
        origins = np.concatenate([posting, reposting])
        if self._cascade_scratch is None:
            self._cascade_scratch = np.zeros(self.n, dtype=bool)
        resharers, size, depth = talking.cascades(adj.indptr, adj.indices, origins, u, d.reshare, d.reshare_decay,
                                                  scratch=self._cascade_scratch)
        if len(origins):
            self.cascades.append((self.day, len(posting), size, depth))
        self.metrics.count("reshares", len(resharers))
        self.reshare_origins_today = origins
        self.reshared_today = np.concatenate([origins, resharers])
        return self.reshared_today

    def _phase_visits(self) -> None:
        c, mk = self.consumers, self.config.market
        eligible = np.flatnonzero(c.aware & ~c.churned)
        forced = ((c.aware_day[eligible] == self.day) | (c.kol_touch_day[eligible] == self.day)
                  | self.visit_boost[eligible])
        prob = visiting.visit_probability(c.last_purchase_day[eligible], self.day, self.customer_visit,
                                          mk.prospect_visit_prob, forced, self.weekday_multiplier(),
                                          c.visit_propensity[eligible])
        visitors = eligible[self.uniforms("visits")[eligible] < prob]
        c.active[visitors] = True
        self._visitors = visitors

    def weekday_multiplier(self) -> float:
        """Today's ``market.weekday_visits`` multiplier (1 without ``start_date``)."""
        if self.config.start_date is None:
            return 1.0
        return self.config.market.weekday_visits[calendar.weekday(self.config.start_date, self.day)]

    def _choose_products(self, who: np.ndarray) -> np.ndarray:
        """Which product each visitor ``who`` is shown: the platform's traffic shares and,
        for a share ``platform.personalization`` of them, their best match. Today's observed
        arrivals (who buy for sure) get the product of their first order instead
        (:meth:`_first_order_products`)."""
        u = self.uniforms("choice")[who]
        phi = self.platform.personalization
        if phi == 0 or self.config.scenario.law != "market" or not len(who):
            shown = self.platform.show(u)
        else:
            matched = np.flatnonzero(u < phi)
            best = np.full(len(who), -1)
            best[matched] = buying.best_matches(self._probabilities(who[matched]))
            shown = self.platform.show(u, best)
        if self.arrival_day is not None:
            arriving = np.flatnonzero(self.arrival_day[who] == self.day)
            if len(arriving):
                shown[arriving] = self._first_order_products(who[arriving], u[arriving])
        return shown

    def _probabilities(self, who: np.ndarray) -> np.ndarray:
        """(consumers × products): each one's purchase probability of each product at list price."""
        n_products = self.catalogue.size
        return self.purchase_probability(np.repeat(who, n_products),
                                         np.tile(np.arange(n_products), len(who))).reshape(-1, n_products)

    def _first_order_products(self, who: np.ndarray, u: np.ndarray) -> np.ndarray:
        """The products of the observed first orders of arrivals ``who`` (their choice draws
        ``u``): the product shown given that they buy, P(k | buys) ∝ P(shown k) · π_k."""
        prob = self._probabilities(who)
        return buying.product_bought(self.platform.shown_shares(buying.best_matches(prob)), prob, u)

    def purchase_probability(self, who: np.ndarray, product: np.ndarray, unit_price: np.ndarray | None = None,
                             utility_shift: np.ndarray | float = 0.0, quantity: np.ndarray | int = 1) -> np.ndarray:
        """Logit purchase probability of consumers ``who`` for ``product`` at ``unit_price``
        (yuan, default the list price), 0 if ``unit_price x quantity`` exceeds their budget
        (``agents.buying``)."""
        c, cat = self.consumers, self.catalogue
        price = cat.list_price[product] if unit_price is None else unit_price
        trust = buying.trust_in_source(c.aware_source[who], c.trust_friends[who], c.trust_kol[who], c.trust_ads[who],
                                       c.kol_touch_day[who] == self.day, c.satisfied_last[who],
                                       c.last_merchant[who] == cat.merchant[product],
                                       self.config.reviews.experience_spillover)
        positive, negative = self.friends_shares(who, product)
        utility = buying.purchase_utility(
            self.config.market, cat.quality[product], c.quality_expectation[who], c.price_sensitivity[who], price,
            self.reference_price, positive, negative, trust,
            self.config.platform.platform_trust, utility_shift, self.rating_term[product])
        return buying.purchase_probability(utility, price * quantity, c.budget[who])

    def _apply_wallet(self, offer: Offer) -> None:
        """Valid coupons in the visitors' wallets apply when the order reaches their threshold
        (not to orders a mechanism takes over, e.g. a team at the team price)."""
        w = self.wallet
        holders = w.valid(offer.who, self.day)
        if not holders.any():
            return
        usable = holders & (offer.deferred < 0) & (offer.paid_cents >= w.threshold_cents[offer.who])
        owners = w.owner[offer.who]
        for index in np.unique(owners[usable]):
            mech = self.mechanisms[index]
            mask = usable & (owners == index)
            offer.add_discount(mech.key, w.value_cents[offer.who], where=mask)
            offer.coupon_owner[mask] = index

    def _phase_purchases(self) -> None:
        who = self._visitors[~self.transacted[self._visitors]]
        offer = Offer.at_list_price(who, self._choose_products(who), self.catalogue.list_price_cents)
        self.hook("adjust_offer", offer)
        self._apply_wallet(offer)
        u = self.uniforms("purchase")[who]
        if self.arrival_day is not None:  # observed arrivals: today's arrivals buy for sure (probability 1)
            u = np.where(self.arrival_day[who] == self.day, -1.0, u)
        decide = lambda mask: u[mask] < self.purchase_probability(  # noqa: E731
            who[mask], offer.product[mask], offer.unit_paid_yuan()[mask], offer.utility_shift[mask],
            offer.quantity[mask])
        buy = decide(np.ones(len(who), dtype=bool))
        for m in self.mechanisms_for("ration"):  # each mechanism rations its own spend
            lost = m.ration(self, offer, buy)
            if lost.any():
                offer.remove(m.key, m.index, lost)
                buy[lost] = decide(lost)
        for m in self.mechanisms_for("take_deferred"):
            chosen = buy & (offer.deferred == m.index)
            if chosen.any():
                m.take_deferred(self, offer, chosen)
                buy &= ~chosen
                self.transacted[who[chosen]] = True
        self.book_orders(channel="solo", **offer.select(buy))

    def book_orders(self, who: np.ndarray, product: np.ndarray, quantity: np.ndarray | None = None,
                    value_cents: np.ndarray | None = None, discounts: dict[str, np.ndarray] | None = None,
                    channel: str = "solo", coupon_owner: np.ndarray | None = None) -> Orders:
        """Book orders (consumers ``who``, one each): the ledger, the customers' state,
        cohorts, merchants, the platform, redeemed coupons, then every mechanism's
        ``on_orders``. ``value_cents`` defaults to list price x quantity; ``discounts``
        maps a mechanism key to its discount per order (fen)."""
        c, cat = self.consumers, self.catalogue
        who = np.asarray(who, dtype=np.int64)
        product = np.asarray(product, dtype=np.int64)
        n_orders = len(who)
        quantity = np.ones(n_orders, dtype=np.int64) if quantity is None else np.asarray(quantity, dtype=np.int64)
        if value_cents is None:
            value_cents = cat.list_price_cents[product] * quantity
        discounts = {k: np.asarray(v, dtype=np.int64) for k, v in (discounts or {}).items()}
        coupon_owner = np.full(n_orders, -1, dtype=np.int32) if coupon_owner is None else coupon_owner
        new = c.first_purchase_day[who] < 0
        orders = Orders(day=self.day, channel=channel, who=who, product=product, quantity=quantity,
                        value_cents=value_cents, discounts=discounts, coupon_owner=coupon_owner, new_customer=new)
        sales = self._sales_channels(orders)
        c.first_purchase_day[who[new]] = self.day
        c.last_purchase_day[who] = self.day
        c.n_orders[who] += 1
        c.active[who] = True
        self.transacted[who] = True
        n_new = int(new.sum())
        self.n_adopters += n_new
        self.metrics.cohorts.add_new_customers(self.day, n_new)
        buyers, value = who, value_cents
        merchant = cat.merchant[product]
        cost = cat.unit_cost_cents[product] * quantity
        discount = np.zeros(n_orders, dtype=np.int64)
        for key, d in discounts.items():
            discount += d
            self.mechanism[key].book_discounts(int(d.sum()))
            self.mechanism[key].benefits[who[d > 0]] += 1
        self.wallet.clear(who[coupon_owner >= 0])
        channel_code = 0 if channel == "solo" else self.mechanism[channel].index + 1
        first_row = self.ledger.n_rows
        totals, commission = self.ledger.record(self.day, buyers, product, merchant, value, discount,
                                                self.platform.commission_rate, cost, quantity, channel_code, sales)
        self.platform.book(product, totals["commission_cents"])
        n_merchants = len(self.merchants)
        orders_by = np.bincount(merchant, minlength=n_merchants)
        revenue_by = np.bincount(merchant, weights=value - discount - commission, minlength=n_merchants)
        cost_by = np.bincount(merchant, weights=cost, minlength=n_merchants)
        for m in np.flatnonzero(orders_by):  # a handful of merchants, not consumers
            self.merchants[m].book(int(orders_by[m]), int(revenue_by[m]), int(cost_by[m]))
        self.merchant_days.book(merchant, value)
        self._buyer_parts.append(buyers)
        self._product_parts.append(product)
        orders.rows = np.arange(first_row, first_row + n_orders)
        self._row_parts.append(orders.rows)
        self._sales_parts.append(sales)
        count = self.metrics.count
        count("new_customers", n_new)
        count("repeat_buyers", n_orders - n_new)
        count("orders", totals["orders"])
        count("gmv", totals["gmv_cents"])
        count("net_gmv", totals["gmv_cents"])
        count("discounts", totals["discount_cents"])
        count("commission", totals["commission_cents"])
        revenue = totals["gmv_cents"] - totals["discount_cents"] - totals["commission_cents"]
        count("merchant_revenue", revenue)
        count("margin", revenue - totals["cost_cents"])
        self.hook("on_orders", orders)
        return orders

    def _sales_channels(self, orders: Orders) -> np.ndarray:
        """Each order's sales channel code (``RETURN_CHANNELS``): solo unless a mechanism
        with a ``return_channel`` sold it; of several, the channel listed last."""
        code = np.zeros(len(orders.who), dtype=np.int8)
        for m in self.mechanisms:
            if m.return_channel is not None:
                code = np.maximum(code, np.where(m.sold_through(self, orders), RETURN_CODE[m.return_channel], 0)
                                  ).astype(np.int8)
        return code

    def _phase_satisfaction(self) -> None:
        c, mk = self.consumers, self.config.market
        if self._buyer_parts:
            self._buyers = np.concatenate(self._buyer_parts)
            self._products = np.concatenate(self._product_parts)
        buyers, product = self._buyers, self._products
        realized = judging.realized_quality(self.catalogue.quality[product], self.quality_shift[product],
                                            mk.quality_noise, self.uniforms_of("satisfaction", buyers))
        self._gap = judging.experience_gap(realized, c.quality_expectation[buyers], mk.satisfaction_tolerance)
        self._satisfied = judging.satisfied(realized, c.quality_expectation[buyers], mk.satisfaction_tolerance)
        c.satisfied_last[buyers] = self._satisfied
        c.last_merchant[buyers] = self.catalogue.merchant[product]

    def _phase_reviews(self) -> None:
        """Buyers who rate what they bought (``agents.reviewing``); the reviews show after
        ``reviews.delay_days``."""
        cfg, buyers = self.config.reviews, self._buyers
        self._gap = reviewing.rated_gap(self._gap, self._satisfied)  # a returned order rates as a disappointment
        prob = reviewing.review_probability(self._gap, cfg.review_prob, cfg.extremity)
        self._rated = self.uniforms_of("review", buyers) < prob
        self._post_reviews(self._rated)

    def _post_reviews(self, which: np.ndarray) -> None:
        cfg = self.config.reviews
        self.reviews.post(self.day, self._products[which], reviewing.stars(self._gap[which], cfg.extreme_gap))
        self.metrics.count("reviews", int(which.sum()))

    def post_reviews(self, who: np.ndarray) -> None:
        """Today's buyers ``who`` who had not rated what they bought rate it now (a
        reward for reviews, 晒单)."""
        more = np.isin(self._buyers, who) & ~self._rated
        self._rated |= more
        self._post_reviews(more)

    def win_back(self, who: np.ndarray, product: np.ndarray, stars: float) -> None:
        """Consumers ``who`` won back after a disappointment with ``product`` (a merchant's
        answer): they stop warning, judge its merchant satisfied again, and post a
        follow-up review (追评) of ``stars``."""
        c = self.consumers
        warning = who[c.wom_sign[who] < 0]
        c.wom_sign[warning], c.wom_until[warning] = 0, -1
        c.satisfied_last[who] = 1
        self.reviews.post(self.day, product, np.full(len(who), float(stars)))

    def _phase_reputation(self) -> None:
        """The reviews due today show; each product's rating term for today's purchases."""
        self.reviews.show(self.day)
        self.rating_term = self.reviews.utility()

    def _phase_returns(self) -> None:
        """Today's buyers return their order with probability r (``agents.returning``), from the
        ``returns`` stream; a returned order counts as a disappointment (word of mouth, churn,
        the trust of the next purchase). Its refund is due ``market.returns.lag_days`` later;
        the refunds due today are booked. No return probability: no draw, nothing changes."""
        rc = self.config.market.returns
        multiplier = self.config.platform.return_multiplier
        if rc.any and multiplier > 0 and len(self._buyers):
            sales = np.concatenate(self._sales_parts)
            prob = returning.return_probability(sales, self._satisfied, *rc.rates(), multiplier)
            back = returning.returned(self.uniforms_of("returns", self._buyers), prob)
            if back.any():
                self._satisfied = self._satisfied & ~back
                self.consumers.satisfied_last[self._buyers[back]] = 0
                self._refunds_due.setdefault(self.day + rc.lag_days, []).append(np.concatenate(self._row_parts)[back])
        due = self._refunds_due.pop(self.day, None)
        if due:
            self._book_refunds(np.concatenate(due))

    def refund_orders(self, rows: np.ndarray) -> np.ndarray:
        """Refund orders ``rows`` of the ledger today (a merchant's recall), except those
        refunded already or due to be; returns the rows refunded."""
        rows = np.unique(np.asarray(rows, dtype=np.int64))
        taken = [self.ledger.refunds()["row"], *(r for due in self._refunds_due.values() for r in due)]
        rows = rows[~np.isin(rows, np.concatenate(taken))]
        if len(rows):
            self._book_refunds(rows)
        return rows

    def _book_refunds(self, rows: np.ndarray) -> None:
        """Refund orders ``rows`` today (``OrderLedger.refund``): the merchants give back their
        revenue and take their goods back, the platform gives back its commission."""
        totals, entry = self.ledger.refund(self.day, rows, self.catalogue.unit_cost_cents)
        self.platform.refund(totals["commission_cents"])
        merchant = self.ledger.gather("merchant", rows)
        n_merchants = len(self.merchants)
        returns_by = np.bincount(merchant, minlength=n_merchants)
        revenue_by = np.bincount(merchant, weights=entry["refund_cents"] - entry["commission_cents"],
                                 minlength=n_merchants)
        cost_by = np.bincount(merchant, weights=entry["cost_cents"], minlength=n_merchants)
        for m in np.flatnonzero(returns_by):
            self.merchants[m].refund(int(returns_by[m]), int(revenue_by[m]), int(cost_by[m]))
        self.merchant_days.book_refunds(merchant, entry["refund_cents"])
        count = self.metrics.count
        count("returns", totals["returns"])
        count("refunds", totals["refund_cents"])
        count("net_gmv", -totals["value_cents"])

    def _phase_word_of_mouth(self) -> None:
        c, mk = self.consumers, self.config.market
        buyers, satisfied = self._buyers, self._satisfied
        prob = talking.talk_probability(c.sharing_propensity[buyers], self.config.platform.wom_multiplier, satisfied,
                                        mk.negative_wom_multiplier)
        prob = self.adjust("adjust_sharing", prob, buyers, satisfied)
        talk = self.uniforms_of("wom", buyers) < prob
        c.wom_sign[buyers], c.wom_until[buyers] = talking.word_of_mouth(talk, satisfied, self.day, mk.wom_days)
        c.wom_merchant[buyers] = self.catalogue.merchant[self._products]

    def _phase_churn(self) -> None:
        c, mk = self.consumers, self.config.market
        customers = np.flatnonzero((c.first_purchase_day >= 0) & ~c.churned)
        hazard = churning.churn_hazard(mk.churn_hazard, c.satisfied_last[customers], mk.dissatisfied_churn_multiplier)
        hazard = self.adjust("adjust_churn", hazard, customers)
        leave = customers[self.uniforms("churn")[customers] < np.minimum(hazard, 1.0)]
        c.churned[leave] = True
        self.n_churned += len(leave)

    def _phase_adoption(self) -> None:
        """A classic law alone: today's adopters (``self.law``) hear and buy once."""
        new = self.law.adopters(self.day, self.consumers.first_purchase_day, self.uniforms("awareness"))
        self._make_aware(new, SOURCE_ADS)
        self.consumers.active[new] = True
        self._visitors = new
        self.book_orders(new, self._choose_products(new))

    def _phase_platform(self) -> None:
        self.platform.step()

    # ------------------------------------------------------------------ metrics
    def _record_day(self) -> None:
        c = self.consumers
        active = np.flatnonzero(c.active)
        first = c.first_purchase_day[active]
        self.metrics.cohorts.add_active(self.day, first[first >= 0])
        promoters, detractors = talking.talking(c.wom_until, c.wom_sign, self.day + 1)
        buyers = np.concatenate(self._buyer_parts) if self._buyer_parts else self._buyers
        spend_before = sum(m.spent_cents for m in self.mechanisms)
        for m in self.mechanisms:
            for key, value in m.close_day().items():
                if key in self.metrics.campaign_columns:  # summary-only keys stay out of the daily table
                    self.metrics.count(key, value)
        spent = spend_before - self._spent_yesterday
        self._spent_yesterday = spend_before
        self.metrics.close_day(
            day=self.day, buyers=len(np.unique(buyers)), active_users=len(active), aware=self.n_aware,
            adopters=self.n_adopters, churned=self.n_churned, promoters=int(promoters.sum()),
            detractors=int(detractors.sum()), campaign_cost=spent, mean_rating=float(self.reviews.rating().mean()))
        cat, n_merchants = self.catalogue, len(self.merchants)
        self.merchant_days.close_day(self.day, self.reviews.merchant_rating(cat.merchant, n_merchants),
                                     self.reviews.merchant_count(cat.merchant, n_merchants))

    def cascades_frame(self):
        """Every reshare cascade: ``day, origin`` (``promoter`` or ``kol``), ``size`` (the
        origin and its resharers), ``depth`` (the longest chain of reshares)."""
        import pandas as pd

        rows = {"day": [], "origin": [], "size": [], "depth": []}
        for day, n_promoters, size, depth in self.cascades:
            rows["day"].append(np.full(len(size), day, dtype=np.int32))
            rows["origin"].append(np.where(np.arange(len(size)) < n_promoters, "promoter", "kol"))
            rows["size"].append(size)
            rows["depth"].append(depth)
        if not self.cascades:
            return pd.DataFrame({"day": np.zeros(0, np.int32), "origin": np.zeros(0, object),
                                 "size": np.zeros(0, np.int64), "depth": np.zeros(0, np.int64)})
        return pd.DataFrame({k: np.concatenate(v) for k, v in rows.items()})

    def summary(self) -> dict:
        """Run totals and KPIs (money in yuan, retention as shares, ``None`` where undefined)."""
        led, coh = self.ledger, self.metrics.cohorts
        orders = led.n_orders
        margin_cents = led.merchant_revenue_cents - led.cost_cents
        return {
            "scenario": self.config.scenario.name, "law": self.config.scenario.law,
            "seed": self.config.seed, "market_seed": self.config.market_seed_value, "days": self.day, "population": self.n,
            "platform": self.config.platform.name,
            "network": self.network.kind, "mean_degree": round(float(self.network.mean_degree), 4),
            "gmv": led.gmv_cents / 100, "orders": orders, "customers": self.n_adopters,
            "aov": (led.gmv_cents / 100 / orders) if orders else None,
            "retention_d1": coh.retention(1), "retention_d7": coh.retention(7),
            "retention_d30": coh.retention(30),
            "aware": self.n_aware, "churned": self.n_churned,
            "repeat_customers": int((self.consumers.n_orders >= 2).sum()),
            "active_customers_at_end": self.n_adopters - self.n_churned,
            "merchant_revenue": led.merchant_revenue_cents / 100,
            "platform_commission": led.commission_cents / 100,
            "discounts": led.discount_cents / 100, "merchant_margin": margin_cents / 100,
            "gross_margin": (led.gmv_cents - led.commission_cents - led.cost_cents) / 100,
            "ltv": round(margin_cents / 100 / self.n_adopters, 4) if self.n_adopters else None,
            "kol_posts": sum(k.posts for k in self.kols),
            **self.reputation_summary(),
            **self.returns_summary(),
            **self.campaign_summary(),
        }

    def reputation_summary(self) -> dict:
        """Reviews written, the products' mean shown rating and each merchant's (stars)."""
        cat, n_merchants = self.catalogue, len(self.merchants)
        by_merchant = self.reviews.merchant_rating(cat.merchant, n_merchants)
        return {"reviews": int(self.metrics.frame()["reviews"].sum()) if self.day else 0,
                "mean_rating": round(float(self.reviews.rating().mean()), 4),
                "merchant_rating": {str(m): round(float(r), 4) for m, r in enumerate(by_merchant)}}

    def returns_summary(self) -> dict:
        """Returns and refunds (yuan): GMV less the refunded orders' value (``net_gmv``), orders
        returned and refunded (``returns``), paid back (``refunds``), ``refund_rate`` = refunds /
        GMV, the money after refunds, and each sales channel's orders, returns and return rate."""
        led = self.ledger
        refunded = led.refunded
        rows = led.refunds()["row"]
        sold = np.bincount(led.column("sales_channel"), minlength=len(RETURN_CHANNELS))
        back = np.bincount(led.column("sales_channel")[rows], minlength=len(RETURN_CHANNELS))
        return {
            "net_gmv": led.net_gmv_cents / 100, "returns": led.n_returns, "refunds": refunded["refund_cents"] / 100,
            "refund_rate": refunded["refund_cents"] / led.gmv_cents if led.gmv_cents else None,
            "return_rate": led.n_returns / led.n_orders if led.n_orders else None,
            "returns_pending": int(sum(len(r) for due in self._refunds_due.values() for r in due)),
            "net_merchant_revenue": led.net_merchant_revenue_cents / 100,
            "net_platform_commission": led.net_commission_cents / 100,
            "net_merchant_margin": (led.net_merchant_revenue_cents - led.net_cost_cents) / 100,
            "net_margin": (led.net_gmv_cents - led.net_commission_cents - led.net_cost_cents) / 100,
            "returns_by_channel": {name: {"orders": int(sold[k]), "returns": int(back[k]),
                                          "return_rate": round(float(back[k] / sold[k]), 6) if sold[k] else None}
                                   for k, name in enumerate(RETURN_CHANNELS)},
        }

    def campaign_summary(self) -> dict:
        """Campaign spend by family (yuan) and each mechanism's KPIs."""
        by_family: dict[str, float] = {}
        out: dict = {}
        for m in self.mechanisms:
            by_family[m.family] = by_family.get(m.family, 0) + m.spent_cents / 100
            out.update(m.summary(self))
        return {"campaigns": [m.key for m in self.mechanisms], "campaign_cost": by_family,
                "campaign_cost_total": sum(m.spent_cents for m in self.mechanisms) / 100, **out}
