"""Typed configuration: one dataclass per config group, the one place every default lives.

The simulation core takes a :class:`SimConfig` and never reads Hydra objects.
Build one from plain mappings with :func:`sim.build.build_config` (the Hydra
app, tests, notebooks and the demo all do this): OmegaConf checks the types and
refuses unknown keys against these dataclasses, then each group's
``validate()`` checks the ranges, raising :class:`~sim.errors.ConfigError`
naming the key, the value and what is allowed. Treat a config as a value: copy
it with :meth:`SimConfig.replace` rather than assigning to its fields.

Units: days for durations, yuan for money, probabilities per day for hazards.
The meaning of every parameter is in ``docs/model.md``, beside its equation.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from sim.calendar import parse_date
from sim.errors import (ConfigError, check_at_least, check_choice, check_finite, check_non_negative,
                        check_positive, check_probability)
from sim.network import NETWORK_KINDS

DISTRIBUTIONS = ("constant", "beta", "lognormal", "normal")
TRAFFIC_ALLOCATIONS = ("uniform", "quality", "popularity")
LAWS = ("market", "bass", "cascade", "threshold", "goldenberg")
CATALOGUE_KINDS = ("generated", "file")
#: The sales channels an order's return probability depends on, in precedence order: an order
#: sold through several (a flash-sale item bought in a livestream) takes the last that applies.
RETURN_CHANNELS = ("solo", "team", "flash_sale", "livestream")


# --------------------------------------------------------------------------- groups
@dataclass(unsafe_hash=True)
class Distribution:
    """A trait distribution over consumers or products.

    ``dist`` is one of: ``constant`` (``value``), ``beta`` (``a``, ``b``; on [0, 1]),
    ``lognormal`` (``median``, ``sigma``), ``normal`` (``mean``, ``sd``, clipped to
    [``low``, ``high``]).
    """

    dist: str = "constant"
    value: float = 0.0
    a: float = 1.0
    b: float = 1.0
    median: float = 1.0
    sigma: float = 0.0
    mean: float = 0.0
    sd: float = 0.0
    low: float = -math.inf
    high: float = math.inf

    def validate(self, key: str) -> None:
        check_choice(f"{key}.dist", self.dist, DISTRIBUTIONS)
        if self.dist == "constant":
            check_finite(f"{key}.value", self.value)
        elif self.dist == "beta":
            check_positive(f"{key}.a", self.a)
            check_positive(f"{key}.b", self.b)
        elif self.dist == "lognormal":
            check_positive(f"{key}.median", self.median)
            check_non_negative(f"{key}.sigma", self.sigma)
        else:
            check_finite(f"{key}.mean", self.mean)
            check_non_negative(f"{key}.sd", self.sd)
            if not self.low < self.high:
                raise ConfigError(f"{key}.low", self.low, f"must be < {key}.high={self.high}")

    def expected_value(self) -> float:
        """Mean of the distribution (clipping of ``normal`` ignored)."""
        if self.dist == "constant":
            return self.value
        if self.dist == "beta":
            return self.a / (self.a + self.b)
        if self.dist == "lognormal":
            return self.median * math.exp(self.sigma**2 / 2)
        return self.mean


@dataclass(unsafe_hash=True)
class NetworkConfig:
    """Config group ``network``: the friendship graph between consumers."""

    kind: str = "barabasi_albert"
    mean_degree: float = 10.0  # mean number of friends per consumer
    rewire_prob: float = 0.1  # watts_strogatz: probability a lattice tie is rewired
    triad_prob: float = 0.5  # holme_kim: probability of closing a triangle after each attachment
    community_size: int = 20  # sbm: consumers per community (社群): round(size / community_size) communities
    mixing: float = 0.1  # sbm: share of a consumer's ties outside its community
    strong_share: float = 0.3  # ba, ws, er, file without strengths: share of ties that are strong
    path: str | None = None  # file: edge list (.csv, .parquet) or .graphml

    def validate(self) -> None:
        check_choice("network.kind", self.kind, NETWORK_KINDS)
        if self.kind not in ("complete", "file"):
            check_positive("network.mean_degree", self.mean_degree)
        check_probability("network.rewire_prob", self.rewire_prob)
        check_probability("network.triad_prob", self.triad_prob)
        check_probability("network.mixing", self.mixing)
        check_probability("network.strong_share", self.strong_share)
        check_at_least("network.community_size", self.community_size, 2)
        if self.kind == "file" and not self.path:
            raise ConfigError("network.path", self.path, "network=file needs network.path=<edge list .csv/.parquet or .graphml>")


@dataclass(unsafe_hash=True)
class KOLConfig:
    """KOLs (influencers). Audiences are shares of the consumers, so a market of N and of
    10N consumers has the same KOLs per capita: KOL k has f_k = N x follower_min_share x
    (1 + Pareto(follower_alpha)) followers, at most N x follower_max_share.

    Engagement per post of a KOL whose audience is a share a_k = f_k / N of the consumers:
    ``engagement_at_1pct * (a_k / 0.01) ** -engagement_elasticity``, clipped to [0, 1].
    """

    count: int = 20
    follower_min_share: float = 0.001  # the smallest KOL's audience, as a share of consumers
    follower_alpha: float = 0.7  # Pareto tail exponent of follower counts
    follower_max_share: float = 0.5  # the largest audience, as a share of consumers
    posts_per_week: float = 2.0  # organic posts per KOL per week
    engagement_at_1pct: float = 0.01  # probability per post that a follower engages, at an audience of 1 %
    engagement_elasticity: float = 0.3  # how fast engagement falls with the audience

    def validate(self) -> None:
        check_at_least("population.kols.count", self.count, 0)
        check_probability("population.kols.follower_min_share", self.follower_min_share)
        check_positive("population.kols.follower_min_share", self.follower_min_share)
        check_positive("population.kols.follower_alpha", self.follower_alpha)
        if not 0 < self.follower_max_share <= 1:
            raise ConfigError("population.kols.follower_max_share", self.follower_max_share, "must be in (0, 1]")
        check_non_negative("population.kols.posts_per_week", self.posts_per_week)
        if self.posts_per_week > 7:
            raise ConfigError("population.kols.posts_per_week", self.posts_per_week, "must be <= 7 (one post a day at most)")
        check_probability("population.kols.engagement_at_1pct", self.engagement_at_1pct)
        check_non_negative("population.kols.engagement_elasticity", self.engagement_elasticity)


def _beta(a: float, b: float):
    """A field defaulting to Beta(a, b)."""
    return field(default_factory=lambda: Distribution(dist="beta", a=a, b=b))


def _lognormal(median: float, sigma: float):
    """A field defaulting to a lognormal with this median and sigma."""
    return field(default_factory=lambda: Distribution(dist="lognormal", median=median, sigma=sigma))


@dataclass(unsafe_hash=True)
class PopulationConfig:
    """Config group ``population``: consumers' traits and the KOLs."""

    size: int = 10_000  # consumers
    price_sensitivity: Distribution = _lognormal(2.0, 0.4)
    quality_expectation: Distribution = _beta(6.0, 4.0)
    trust_friends: Distribution = _beta(5.0, 3.0)
    trust_kol: Distribution = _beta(3.0, 4.0)
    trust_ads: Distribution = _beta(2.0, 5.0)
    sharing_propensity: Distribution = _beta(2.0, 6.0)
    budget: Distribution = _lognormal(150.0, 0.8)  # yuan per order
    # A customer's own multiplier of the visit curve (market.customer_visit_*): heterogeneous
    # purchase rates, as BG/NBD's gamma-distributed λ. sigma 0: every customer the same.
    visit_propensity: Distribution = _lognormal(1.0, 0.0)
    kols: KOLConfig = field(default_factory=KOLConfig)
    # Real users the simulated consumers stand for (null: they are the market). Where set, the
    # keys a merchant states for the real market — campaign budgets, flat KOL fees, flash-sale
    # stock — are scaled by size / represents, and KOL tiers count real followers.
    represents: float | None = None
    homophily: float = 0.5  # how alike friends' traits are, [0, 1): 0 independent traits
    # Observed acquisition (null: the model acquires): a .csv or .parquet file of one integer
    # column, consumer i's first-purchase day (day 1 = the first simulated day), one row per
    # consumer. Consumer i stays outside the market until that day, then hears, visits and
    # buys for sure; nobody else ever becomes aware (sim/arrivals.py, docs/model.md).
    arrivals: str | None = None

    def validate(self) -> None:
        check_at_least("population.size", self.size, 2)
        if self.represents is not None:
            check_positive("population.represents", self.represents)
        if not 0.0 <= self.homophily < 1.0:
            raise ConfigError("population.homophily", self.homophily, "must be in [0, 1): 0 = independent traits")
        if self.arrivals is not None and not str(self.arrivals).strip():
            raise ConfigError("population.arrivals", self.arrivals, "must be a .csv or .parquet file of first-purchase "
                                                                    "days, or null")
        for name in ("price_sensitivity", "quality_expectation", "trust_friends", "trust_kol",
                     "trust_ads", "sharing_propensity", "budget", "visit_propensity"):
            getattr(self, name).validate(f"population.{name}")
        self.kols.validate()


@dataclass(unsafe_hash=True)
class ReturnRates:
    """Probability that an order of one sales channel is returned, by the buyer's judgment."""

    satisfied: float = 0.0  # a satisfied buyer returns the order (size, regret), [0, 1]
    dissatisfied: float = 0.0  # a dissatisfied buyer returns the order, [0, 1]

    def validate(self, key: str) -> None:
        check_probability(f"{key}.satisfied", self.satisfied)
        check_probability(f"{key}.dissatisfied", self.dissatisfied)


def _returns(satisfied: float, dissatisfied: float):
    """A field defaulting to these return probabilities."""
    return field(default_factory=lambda: ReturnRates(satisfied=satisfied, dissatisfied=dissatisfied))


@dataclass(unsafe_hash=True)
class ReturnsConfig:
    """Returns and refunds (退换货), ``market.returns``: per sales channel (``RETURN_CHANNELS``),
    the probability an order is returned if its buyer is satisfied and if not, and the days
    from the order to its refund. All zero: no returns (the market of before, exactly).
    The refund rule and the equations: docs/model.md (*Returns and refunds*)."""

    solo: ReturnRates = _returns(0.02, 0.65)  # ordinary e-commerce: 10-15 % of orders in all (domain brief)
    team: ReturnRates = _returns(0.02, 0.65)  # group-buy (拼团, 社区团购): as solo (assumption)
    flash_sale: ReturnRates = _returns(0.05, 0.70)  # 秒杀: impulse buys at a deep discount (assumption)
    livestream: ReturnRates = _returns(0.30, 0.80)  # 直播带货: 30-50 % of orders in all (domain brief)
    lag_days: int = 0  # days from the order to its refund (0: the day of the order), >= 0

    def validate(self) -> None:
        for channel in RETURN_CHANNELS:
            getattr(self, channel).validate(f"market.returns.{channel}")
        check_at_least("market.returns.lag_days", self.lag_days, 0)

    @property
    def any(self) -> bool:
        """Some channel returns orders (False: the returns phase changes nothing)."""
        return any(r.satisfied > 0 or r.dissatisfied > 0 for r in (getattr(self, c) for c in RETURN_CHANNELS))

    def rates(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """(satisfied, dissatisfied) probabilities, each indexed by the channel's code
        (its position in ``RETURN_CHANNELS``)."""
        return (tuple(getattr(self, c).satisfied for c in RETURN_CHANNELS),
                tuple(getattr(self, c).dissatisfied for c in RETURN_CHANNELS))


@dataclass(unsafe_hash=True)
class MarketConfig:
    """Config group ``market``: merchants' catalogue and consumer behaviour rules."""

    merchants: int = 5
    products_per_merchant: int = 4
    list_price: Distribution = _lognormal(80.0, 0.5)  # yuan
    unit_cost_share: float = 0.6  # unit cost / list price
    quality: Distribution = _beta(6.0, 3.0)  # expected quality of a product, on [0, 1]
    quality_noise: float = 0.15  # sd of realized quality around the product's quality
    # purchase logit, utility terms (dimensionless)
    base_utility: float = -2.0
    quality_weight: float = 3.0
    social_proof_weight: float = 3.0
    negative_wom_weight: float = 6.0
    source_trust_weight: float = 1.0
    # visits (activity), probabilities per day
    prospect_visit_prob: float = 0.10  # aware non-customer
    customer_visit_peak: float = 0.22  # customer, the day after a purchase
    customer_visit_floor: float = 0.06  # customer, long after the last purchase
    visit_decay_days: float = 6.0  # e-folding time of the visit probability, days
    # x every visit probability (not forced visits) by weekday, Mon..Sun; not all 1 needs start_date
    weekday_visits: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0)
    # satisfaction and word of mouth
    satisfaction_tolerance: float = 0.1  # realized quality >= expectation - tolerance: satisfied
    negative_wom_multiplier: float = 2.0  # dissatisfied buyers talk this many times as often
    wom_days: int = 30  # days a buyer keeps talking about the last purchase
    # lapse and churn, probabilities per day
    churn_hazard: float = 0.01
    dissatisfied_churn_multiplier: float = 4.0
    returns: ReturnsConfig = field(default_factory=ReturnsConfig)  # returns and refunds, by sales channel

    def __post_init__(self):
        self.weekday_visits = tuple(self.weekday_visits)  # OmegaConf hands lists

    def validate(self) -> None:
        if len(self.weekday_visits) != 7 or not all(math.isfinite(v) and v >= 0 for v in self.weekday_visits):
            raise ConfigError("market.weekday_visits", list(self.weekday_visits),
                              "must be 7 multipliers >= 0, Monday to Sunday (all 1 = no weekday effect)")
        for key in ("merchants", "products_per_merchant", "wom_days"):
            check_at_least(f"market.{key}", getattr(self, key), 1)
        self.list_price.validate("market.list_price")
        self.quality.validate("market.quality")
        check_probability("market.unit_cost_share", self.unit_cost_share)
        check_non_negative("market.quality_noise", self.quality_noise)
        for key in ("base_utility", "quality_weight", "social_proof_weight", "negative_wom_weight",
                    "source_trust_weight"):
            check_finite(f"market.{key}", getattr(self, key))
        for key in ("prospect_visit_prob", "customer_visit_peak", "customer_visit_floor", "churn_hazard"):
            check_probability(f"market.{key}", getattr(self, key))
        if self.customer_visit_floor > self.customer_visit_peak:
            raise ConfigError("market.customer_visit_floor", self.customer_visit_floor,
                              f"must be <= market.customer_visit_peak={self.customer_visit_peak}")
        check_positive("market.visit_decay_days", self.visit_decay_days)
        check_non_negative("market.satisfaction_tolerance", self.satisfaction_tolerance)
        check_non_negative("market.negative_wom_multiplier", self.negative_wom_multiplier)
        check_non_negative("market.dissatisfied_churn_multiplier", self.dissatisfied_churn_multiplier)
        self.returns.validate()


@dataclass(unsafe_hash=True)
class CatalogueConfig:
    """Config group ``catalogue``: where the products come from.

    ``generated`` draws ``market.merchants`` x ``market.products_per_merchant`` products
    (prices from ``market.list_price``, costs ``market.unit_cost_share`` of them, quality from
    ``market.quality``). ``file`` reads the merchant's own products from ``path`` (.csv or
    .parquet: ``product_id, merchant, price, unit_cost`` in yuan, optional ``quality`` in
    [0, 1], else drawn from ``market.quality``); its merchants are the market's
    (``sim/catalogue.py``, :meth:`~sim.catalogue.Catalogue.load`)."""

    kind: str = "generated"
    path: str | None = None  # file: the products (.csv or .parquet)

    def validate(self) -> None:
        check_choice("catalogue.kind", self.kind, CATALOGUE_KINDS)
        if self.kind == "file" and not self.path:
            raise ConfigError("catalogue.path", self.path, "catalogue=file needs catalogue.path=<products .csv/.parquet>")


@dataclass(unsafe_hash=True)
class ReviewsConfig:
    """Config group ``reviews``: ratings and reviews per product, and where word of mouth
    and a buyer's own experience attach (``docs/model.md``, *Reviews and reputation*).

    A buyer rates after delivery with a probability that is higher the further its
    experience is from its expectation (J-shaped reviews); the displayed rating is a
    running mean of stars (1–5) with a prior; a product's rating against the market's
    mean rating enters purchase utility, low ratings more than high ones, weighted by
    how many reviews stand behind it."""

    review_prob: float = 0.15  # P(a buyer rates), at an experience just at its expectation
    extremity: float = 1.0  # + this x |realized quality - expectation| (quality units) to that probability
    delay_days: int = 3  # days from purchase to the review showing (delivery, use)
    extreme_gap: float = 0.2  # |gap| above this (quality units) gives 5 stars, or 1 when dissatisfied
    prior_rating: float = 4.0  # stars a product shows with no reviews, [1, 5]
    prior_weight: float = 10.0  # reviews' worth of the prior in the displayed mean, > 0
    high_rating_weight: float = 0.5  # utility per star above the market's mean rating
    low_rating_weight: float = 1.5  # utility per star below it (negative reviews weigh more)
    count_half: float = 50.0  # reviews (real users) at which the rating gets half its weight, > 0
    wom_spillover: float = 0.25  # share of word of mouth about one merchant that applies to the others, [0, 1]
    experience_spillover: float = 0.5  # share of a buyer's own last experience applied to other merchants, [0, 1]

    def validate(self) -> None:
        check_probability("reviews.review_prob", self.review_prob)
        for key in ("extremity", "extreme_gap", "high_rating_weight", "low_rating_weight"):
            check_non_negative(f"reviews.{key}", getattr(self, key))
        check_at_least("reviews.delay_days", self.delay_days, 0)
        if not (math.isfinite(self.prior_rating) and 1.0 <= self.prior_rating <= 5.0):
            raise ConfigError("reviews.prior_rating", self.prior_rating, "must be a number of stars in [1, 5]")
        check_positive("reviews.prior_weight", self.prior_weight)
        check_positive("reviews.count_half", self.count_half)
        check_probability("reviews.wom_spillover", self.wom_spillover)
        check_probability("reviews.experience_spillover", self.experience_spillover)


#: Social features a platform may offer. A campaign option that needs one (its settings class's
#: ``feature``, set where the option is registered) is refused on a platform whose
#: ``platform.social_features`` lacks it. Pricing options and events need none.
SOCIAL_FEATURES = ("referral", "team_purchase", "community_groupbuy", "kol_seeding", "livestream", "koc_reviews")


@dataclass(unsafe_hash=True)
class PlatformConfig:
    """Config group ``platform``: commission, traffic, personalization, social features.

    The defaults are the ``generic`` platform, which leaves the market exactly as
    without these keys (multipliers 1, shifts 0, every feature). Presets in
    ``conf/platform/`` (taobao, jd, pinduoduo, xiaohongshu, douyin,
    community_groupbuy); equations in ``docs/model.md`` (*The platform*).
    """

    name: str = "generic"
    commission_rate: float = 0.05  # share of the paid amount
    traffic_allocation: str = "uniform"  # uniform | quality | popularity
    allocation_strength: float = 1.0  # exponent on quality or (1 + orders) in the allocation
    traffic_multiplier: float = 1.0  # x diffusion.innovation: the platform's traffic and ads
    wom_multiplier: float = 1.0  # x the probability a buyer talks (promoters and detractors)
    content_multiplier: float = 1.0  # x every KOL's engagement probability (organic and sponsored)
    platform_trust: float = 0.0  # purchase utility added to every decision (trust in the platform)
    personalization: float = 0.0  # share of visitors shown their best match (highest Pr(buy)), [0, 1]
    price_level: float = 1.0  # list prices x this; the consumers' reference price stays the market's
    return_multiplier: float = 1.0  # x every return probability (market.returns), capped at 1: its return policy
    social_features: tuple[str, ...] = SOCIAL_FEATURES  # features offered (campaign options need them)

    def __post_init__(self):
        self.social_features = tuple(self.social_features)  # OmegaConf hands lists

    def validate(self) -> None:
        check_probability("platform.commission_rate", self.commission_rate)
        check_choice("platform.traffic_allocation", self.traffic_allocation, TRAFFIC_ALLOCATIONS)
        check_non_negative("platform.allocation_strength", self.allocation_strength)
        for key in ("traffic_multiplier", "wom_multiplier", "content_multiplier", "return_multiplier"):
            check_non_negative(f"platform.{key}", getattr(self, key))
        check_probability("platform.personalization", self.personalization)
        check_finite("platform.platform_trust", self.platform_trust)
        check_positive("platform.price_level", self.price_level)
        unknown = [f for f in self.social_features if f not in SOCIAL_FEATURES]
        if unknown:
            raise ConfigError("platform.social_features", list(self.social_features),
                              f"unknown feature {unknown[0]!r}; known: {', '.join(SOCIAL_FEATURES)}")


@dataclass(unsafe_hash=True)
class DiffusionConfig:
    """Config group ``diffusion``: how consumers hear of the market (probabilities per day).

    Market law: an unaware consumer hears with probability
    1 − (1 − α_i)(1 − β_s)^{m_s}(1 − β_w)^{m_w}, α_i from the broadcast channels
    (``innovation``), m_s and m_w its strong and weak ties talking today (promoters,
    warners, and those who reshared a post). Bass law: p = ``innovation``, q = ``imitation``.
    """

    innovation: float = 0.01  # α: awareness from platform traffic and ads
    imitation: float = 0.3  # q of the Bass law (scenario=bass): times the share of neighbours who bought
    strong_tie: float = 0.04  # β_s: P(hearing through one strong tie talking today)
    weak_tie: float = 0.03  # β_w: P(hearing through one weak tie talking today)
    reshare: float = 0.08  # P(a friend reached by a post reshares it), at the first step of a cascade
    reshare_decay: float = 0.9  # the reshare probability x this at each further step, [0, 1]
    # The classic laws run alone (scenario.law=cascade|threshold|goldenberg; agents/laws.py):
    seed_share: float = 0.01  # share of consumers who adopt on day 1 (floor of share x N, at least 1)
    seed_ids: tuple[int, ...] = ()  # or these consumers (a file network's own node ids); overrides seed_share
    cascade_probability: float = 0.1  # independent cascade: P(one adopter activates one friend), per tie, once
    threshold: float | None = None  # linear threshold: every consumer's; null: each drawn uniformly on [0, 1)
    talking_days: int = 1  # Goldenberg law: days an adopter talks after adopting

    def validate(self) -> None:
        self.seed_ids = tuple(self.seed_ids)  # OmegaConf hands lists
        for key in ("innovation", "imitation", "strong_tie", "weak_tie", "reshare", "reshare_decay", "seed_share",
                    "cascade_probability"):
            check_probability(f"diffusion.{key}", getattr(self, key))
        if self.threshold is not None:
            check_probability("diffusion.threshold", self.threshold)
        check_at_least("diffusion.talking_days", self.talking_days, 1)
        for i in self.seed_ids:
            if isinstance(i, bool) or not isinstance(i, int):
                raise ConfigError("diffusion.seed_ids", list(self.seed_ids), f"must be integer consumer ids; got {i!r}")


@dataclass(unsafe_hash=True)
class CampaignConfig:
    """Config group ``campaign``: the campaign mechanisms in force, in order.

    ``mechanisms`` holds ``(key, settings)`` pairs, the settings an instance of
    an option's dataclass (``scenarios/registry.py`` builds them from the
    mapping ``{option key: settings}``); empty for ``campaign=none``.
    """

    mechanisms: tuple = ()

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(k for k, _ in self.mechanisms)

    def validate(self, days: int | None = None) -> None:
        for key, cfg in self.mechanisms:
            cfg.validate(f"campaign.{key}")
            if days is not None and cfg.start_day > days:
                raise ConfigError(f"campaign.{key}.start_day", cfg.start_day,
                                  f"must be <= days={days}: the campaign would start after the run ends")


@dataclass(unsafe_hash=True)
class ScenarioConfig:
    """Config group ``scenario``: a named preset and the adoption law it runs.

    ``law=market`` runs the full daily model; the others one classic diffusion law alone
    (``agents/laws.py``: one purchase per consumer, nothing else): ``bass`` (hazard
    p + q x share of adopter neighbours), ``cascade`` (independent cascade), ``threshold``
    (linear threshold), ``goldenberg`` (advertising plus strong and weak ties).
    """

    name: str = "default"
    law: str = "market"
    description: str = ""

    def validate(self) -> None:
        check_choice("scenario.law", self.law, LAWS)


@dataclass(unsafe_hash=True)
class SimConfig:
    """Everything the simulation core needs.

    ``market_seed`` draws the market (network, traits, catalogue, KOLs and their
    audiences); ``seed`` draws the daily dynamics. ``market_seed`` null follows
    ``seed``, so one seed fixes every draw; set it to hold one market fixed while
    the dynamics vary.
    """

    seed: int = 0
    market_seed: int | None = None
    days: int = 180
    start_date: str | None = None  # ISO date of day 1 (null: days are numbers only); sim/calendar.py
    network: NetworkConfig = field(default_factory=NetworkConfig)
    population: PopulationConfig = field(default_factory=PopulationConfig)
    market: MarketConfig = field(default_factory=MarketConfig)
    catalogue: CatalogueConfig = field(default_factory=CatalogueConfig)
    platform: PlatformConfig = field(default_factory=PlatformConfig)
    diffusion: DiffusionConfig = field(default_factory=DiffusionConfig)
    reviews: ReviewsConfig = field(default_factory=ReviewsConfig)
    campaign: CampaignConfig = field(default_factory=CampaignConfig)
    scenario: ScenarioConfig = field(default_factory=ScenarioConfig)

    @property
    def market_seed_value(self) -> int:
        """The seed of the market's draws (``market_seed``, or ``seed`` when null)."""
        return self.seed if self.market_seed is None else self.market_seed

    def validate(self) -> "SimConfig":
        if self.seed < 0:
            raise ConfigError("seed", self.seed, "must be an integer >= 0")
        if self.market_seed is not None and self.market_seed < 0:
            raise ConfigError("market_seed", self.market_seed, "must be an integer >= 0, or null to follow seed")
        check_at_least("days", self.days, 1)
        if self.start_date is not None:
            parse_date("start_date", self.start_date)
        elif any(v != 1.0 for v in self.market.weekday_visits):
            raise ConfigError("market.weekday_visits", list(self.market.weekday_visits),
                              "weekday effects need start_date=YYYY-MM-DD (the date of day 1)")
        for group in (self.network, self.population, self.market, self.catalogue, self.platform, self.diffusion, self.reviews,
                      self.scenario):
            group.validate()
        self.campaign.validate(self.days)
        if self.population.arrivals is not None and self.scenario.law != "market":
            raise ConfigError("population.arrivals", self.population.arrivals,
                              f"observed arrivals need scenario.law=market (not {self.scenario.law})")
        self._check_social_features()
        d = self.diffusion
        if self.scenario.law in ("cascade", "threshold") and d.seed_share == 0 and not d.seed_ids:
            raise ConfigError("diffusion.seed_share", d.seed_share,
                              f"must be > 0 for scenario.law={self.scenario.law} (or give diffusion.seed_ids): "
                              f"without seeds nobody adopts")
        return self

    def _check_social_features(self) -> None:
        """A campaign option that needs a social feature the platform lacks is refused."""
        have = self.platform.social_features
        for key, cfg in self.campaign.mechanisms:
            feature = getattr(cfg, "feature", None)
            if feature is not None and feature not in have:
                raise ConfigError(f"campaign.{key}", cfg.option,
                                  f"needs the platform feature {feature}, which platform {self.platform.name} "
                                  f"lacks (platform.social_features: [{', '.join(have)}]); "
                                  f"pick another platform or add the feature")

    def replace(self, **changes) -> "SimConfig":
        """A copy with whole groups or top-level keys replaced (validated)."""
        return dataclasses.replace(self, **changes).validate()

    def as_dict(self) -> dict:
        """Plain nested values in the shape ``build_config`` takes back (campaign as
        ``{key: settings}``, with ``mechanism`` where the key is not the option):
        ``build_config(c.as_dict()) == c``. Tuples become lists."""
        def plain(value):
            if dataclasses.is_dataclass(value):
                return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
            return [plain(v) for v in value] if isinstance(value, (tuple, list)) else value

        out = {f.name: plain(getattr(self, f.name)) for f in dataclasses.fields(self) if f.name != "campaign"}
        out["campaign"] = {key: {**({"mechanism": cfg.option} if key != cfg.option else {}), **plain(cfg)}
                           for key, cfg in self.campaign.mechanisms}
        return out
