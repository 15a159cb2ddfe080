"""What every campaign mechanism shares: timing, target, per-user cap, budget, costs.

A mechanism is one object per campaign option in force (``campaign=[referral,coupon]``).
The model calls its hooks at fixed points of the day (see ``docs/model.md``,
*Campaigns*); the default hooks do nothing, so a mechanism overrides only the
ones it needs. Mechanisms never call each other: they interact only through
shared model state (awareness, visits, the wallet of coupons, offers and
prices, the order ledger).

Money is in integer fen (cents). A mechanism spends in two ways, both counted
in its cost and both capped by its budget:

* discounts on orders (``offer.add_discount``), booked with the order;
* cash payments (:meth:`Mechanism.pay`): rewards, fees, subsidies, commissions.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from sim.errors import ConfigError, check_at_least, check_choice, check_non_negative

if TYPE_CHECKING:  # pragma: no cover
    from sim.model import MarketModel
    from sim.offer import Offer, Orders

TARGETS = ("everyone", "new_users", "customers", "segment", "community")
SEGMENT_TRAITS = ("price_sensitivity", "quality_expectation", "trust_friends", "trust_kol",
                  "trust_ads", "sharing_propensity", "budget")


@dataclass(unsafe_hash=True)
class CampaignSettings:
    """Fields every mechanism has (its config dataclass extends this).

    ``start_day``..``end_day`` (inclusive, days; ``end_day`` null = to the end; a date
    such as ``double11`` or ``2025-11-11`` where ``start_date`` is set: ``sim/calendar.py``);
    ``target``: who can benefit: ``everyone``, ``new_users`` (never bought),
    ``customers`` (bought before), ``segment`` (consumers whose
    ``segment_trait`` lies between the ``segment_min_quantile`` and
    ``segment_max_quantile`` of the population), ``community`` (members of
    ``communities``, on a network with communities); ``per_user_cap``: most
    benefits one consumer can receive (null = no cap); ``budget``: yuan the
    mechanism may spend in all (null = no cap), after which it stops.
    """

    start_day: int | str = 1  # a day number, or a date (sim/calendar.py) resolved when validated
    end_day: int | str | None = None
    target: str = "everyone"
    segment_trait: str = "price_sensitivity"
    segment_min_quantile: float = 0.0
    segment_max_quantile: float = 1.0
    communities: tuple[int, ...] = ()
    per_user_cap: int | None = None
    budget: float | None = None

    #: Keys that take a day number or a date (resolved by ``sim.calendar.resolve_days``).
    DAY_KEYS: ClassVar[tuple[str, ...]] = ("start_day", "end_day")
    #: Set by ``scenarios.registry.register``: the option name, the platform feature it
    #: needs (or None) and the mechanism class it configures.
    option: ClassVar[str] = ""
    feature: ClassVar[str | None] = None
    mechanism: ClassVar[type["Mechanism"] | None] = None

    def __post_init__(self):
        for f in dataclasses.fields(self):  # OmegaConf hands lists where the field is a tuple
            if isinstance(getattr(self, f.name), list):
                setattr(self, f.name, tuple(getattr(self, f.name)))

    def validate(self, prefix: str) -> None:
        for key in self.DAY_KEYS:  # dates are resolved to day numbers before (sim.calendar.resolve_days)
            if isinstance(getattr(self, key), str):
                raise ConfigError(f"{prefix}.{key}", getattr(self, key),
                                  "a date needs start_date=YYYY-MM-DD (the date of day 1)")
        check_at_least(f"{prefix}.start_day", self.start_day, 1)
        if self.end_day is not None and self.end_day < self.start_day:
            raise ConfigError(f"{prefix}.end_day", self.end_day,
                              f"must be >= {prefix}.start_day={self.start_day} (or null for no end)")
        check_choice(f"{prefix}.target", self.target, TARGETS)
        check_choice(f"{prefix}.segment_trait", self.segment_trait, SEGMENT_TRAITS)
        lo, hi = self.segment_min_quantile, self.segment_max_quantile
        if not 0.0 <= lo < hi <= 1.0:
            raise ConfigError(f"{prefix}.segment_min_quantile", lo,
                              f"must satisfy 0 <= min < max <= 1 (max is {hi})")
        if self.target == "community" and not self.communities:
            raise ConfigError(f"{prefix}.communities", list(self.communities),
                              "target=community needs a list of community ids, e.g. [0, 3]")
        if any(c < 0 for c in self.communities):
            raise ConfigError(f"{prefix}.communities", list(self.communities), "ids must be >= 0")
        if self.per_user_cap is not None and self.per_user_cap < 1:
            raise ConfigError(f"{prefix}.per_user_cap", self.per_user_cap, "must be an integer >= 1 or null")
        if self.budget is not None:
            check_non_negative(f"{prefix}.budget", self.budget)


def product_mask(key: str, products, size: int) -> np.ndarray:
    """Bool per catalogue product: those of ``products`` (catalogue indices; empty = every
    product), refused in one line if an index is ``size`` or more (``key`` the option's)."""
    products = tuple(products)
    if any(p >= size for p in products):
        raise ConfigError(f"campaign.{key}.products", list(products),
                          f"catalogue indices must be < {size} (market.merchants x market.products_per_merchant)")
    mask = np.zeros(size, dtype=bool)
    mask[list(products) if products else slice(None)] = True
    return mask


def check_money(key: str, value: float) -> None:
    """A non-negative amount of yuan."""
    if not math.isfinite(value) or value < 0:
        raise ConfigError(key, value, "must be an amount of yuan >= 0")


def check_rate(key: str, value: float) -> None:
    """A discount rate: a share of the price, 0 <= rate < 1."""
    if not math.isfinite(value) or not 0.0 <= value < 1.0:
        raise ConfigError(key, value, "must be a discount rate in [0, 1) (0.2 = 20 % off)")


class Mechanism:
    """Base class of the campaign mechanisms. A subclass declares its ``option`` name
    (``campaign=<option>``), its ``settings`` dataclass, the platform ``feature`` it
    needs (None: every platform), its ``family`` and the ``DAILY`` metric names it
    reports (each a column of ``metrics.parquet``), and is registered with
    ``@scenarios.registry.register``."""

    option: ClassVar[str] = ""
    settings: ClassVar[type[CampaignSettings]] = CampaignSettings
    feature: ClassVar[str | None] = None
    family: ClassVar[str] = "campaign"
    #: Hooks this mechanism acts on outside its window (or after its budget ran out): every
    #: other hook is called only while it runs (``MarketModel.mechanisms_for``).
    outside_window: ClassVar[frozenset[str]] = frozenset()
    #: daily metric columns this mechanism adds (summed over mechanisms of a run)
    DAILY: ClassVar[tuple[str, ...]] = ()
    #: The sales channel of the orders sold through it (``sim.config.RETURN_CHANNELS``), which
    #: sets their return probability (``market.returns``); None: its orders keep theirs.
    return_channel: ClassVar[str | None] = None

    def __init__(self, key: str, cfg: CampaignSettings, model: "MarketModel", index: int):
        self.key = key  # option name in the config, e.g. "referral"
        self.cfg = cfg
        self.index = index  # position among the run's mechanisms
        self.rng = model.streams[f"campaign/{key}"]
        n = model.n
        self.benefits = np.zeros(n, dtype=np.int32)  # benefits received per consumer (per-user cap)
        self.discount_cents = 0  # discounts granted on booked orders
        self.payments_cents: dict[str, int] = {}  # cash paid, by kind
        self.scale = model.scale  # simulated consumers per real user (population.represents)
        # the budget is stated for the real market: scaled to the simulated one
        self.budget_cents = None if cfg.budget is None else int(round(cfg.budget * model.scale * 100))
        self.exhausted = False
        self._segment = self._segment_mask(model)
        self.today: dict[str, float] = {}
        self.totals: dict[str, float] = {}

    # ------------------------------------------------------------------ timing and target
    def running(self, day: int) -> bool:
        """In its time window and budget left."""
        end = self.cfg.end_day if self.cfg.end_day is not None else math.inf
        return self.cfg.start_day <= day <= end and not self.exhausted

    def _segment_mask(self, model: "MarketModel") -> np.ndarray | None:
        cfg = self.cfg
        if cfg.target == "segment":
            trait = getattr(model.consumers, cfg.segment_trait)
            lo, hi = np.quantile(trait, [cfg.segment_min_quantile, cfg.segment_max_quantile])
            return (trait >= lo) & (trait <= hi)
        if cfg.target == "community":
            community = model.network.community
            if community is None:
                raise ConfigError(f"campaign.{self.key}.target", "community",
                                  "needs a network with communities (network=sbm)")
            known = int(community.max()) + 1
            bad = [c for c in cfg.communities if c >= known]
            if bad:
                raise ConfigError(f"campaign.{self.key}.communities", list(cfg.communities),
                                  f"community ids must be < {known} (network.communities)")
            return np.isin(community, np.asarray(cfg.communities))
        return None

    def targeted(self, model: "MarketModel", idx: np.ndarray) -> np.ndarray:
        """Which of consumers ``idx`` the campaign may benefit today (target and cap)."""
        target = self.cfg.target
        if target == "new_users":
            mask = model.consumers.first_purchase_day[idx] < 0
        elif target == "customers":
            mask = model.consumers.first_purchase_day[idx] >= 0
        elif self._segment is not None:
            mask = self._segment[idx]
        else:
            mask = np.ones(len(idx), dtype=bool)
        if self.cfg.per_user_cap is not None:
            mask &= self.benefits[idx] < self.cfg.per_user_cap
        return mask

    # ------------------------------------------------------------------ money
    @property
    def spent_cents(self) -> int:
        return self.discount_cents + sum(self.payments_cents.values())

    @property
    def remaining_cents(self) -> float:
        return math.inf if self.budget_cents is None else self.budget_cents - self.spent_cents

    def affordable(self, amounts_cents: np.ndarray, reserved_cents: int = 0) -> np.ndarray:
        """The longest prefix of ``amounts_cents`` the budget covers (bool mask)."""
        amounts = np.asarray(amounts_cents, dtype=np.int64)
        if self.budget_cents is None:
            return np.ones(len(amounts), dtype=bool)
        return np.cumsum(amounts) <= self.remaining_cents - reserved_cents

    def pay(self, model: "MarketModel", recipients: np.ndarray, amounts_cents: np.ndarray, kind: str) -> np.ndarray:
        """Pay cash (fen) to ``recipients`` (consumer or KOL ids, per ``kind``) within the budget.

        Payments are made in the order given; those the remaining budget cannot
        cover are not made. The mechanism stops when a payment is refused or when
        the budget is spent (remaining <= 0 after paying), as :meth:`book_discounts`
        does. Returns the paid mask.
        """
        amounts = np.asarray(amounts_cents, dtype=np.int64)
        paid = self.affordable(amounts)
        if not paid.all():
            self.exhausted = True
        total = int(amounts[paid].sum())
        if total:
            self.payments_cents[kind] = self.payments_cents.get(kind, 0) + total
            model.payments.record(model.day, self.key, self.family, kind,
                                  np.asarray(recipients)[paid], amounts[paid])
        if self.budget_cents is not None and self.remaining_cents <= 0:
            self.exhausted = True
        return paid

    def book_discounts(self, total_cents: int) -> None:
        """Called by the model when orders carrying this mechanism's discounts are booked."""
        self.discount_cents += int(total_cents)
        if self.budget_cents is not None and self.remaining_cents <= 0:
            self.exhausted = True

    def ration(self, model: "MarketModel", offer: "Offer", buy: np.ndarray) -> np.ndarray:
        """Visitors who lose this mechanism's discount today because the budget
        cannot cover them all (in a random order). Subclasses may add limits
        (stock); they should call this too."""
        mine = offer.discount_of(self.key)
        if mine is None or self.budget_cents is None:
            return np.zeros(len(offer.who), dtype=bool)
        want = np.flatnonzero(buy & (mine > 0))
        order = want[np.argsort(self.rng.random(len(want)), kind="stable")]
        lost = np.zeros(len(offer.who), dtype=bool)
        covered = self.affordable(mine[order])
        lost[order[~covered]] = True
        if (~covered).any():
            self.exhausted = True
        return lost

    # ------------------------------------------------------------------ metrics
    def summary_name(self, name: str) -> str:
        """A summary key: as given when the mechanism's key is its option name, else prefixed
        with the key (two mechanisms of one option report apart)."""
        return name if self.key == self.option else f"{self.key}_{name}"

    def count(self, name: str, value: float = 1) -> None:
        """Add to today's value of metric ``name`` (a ``DAILY`` column or a summary-only key)."""
        self.today[name] = self.today.get(name, 0) + value

    def close_day(self) -> dict[str, float]:
        """Today's metrics; accumulated into ``totals``."""
        today, self.today = self.today, {}
        for k, v in today.items():
            self.totals[k] = self.totals.get(k, 0) + v
        return today

    def summary(self, model: "MarketModel") -> dict:
        """KPIs of this mechanism for ``summary.json`` (subclasses add theirs)."""
        return {}

    def sold_through(self, model: "MarketModel", orders: "Orders") -> np.ndarray:
        """Which of ``orders`` were sold through this mechanism (its ``return_channel``):
        those it created (``orders.channel``) or that carry its discount. Called as they
        are booked, before ``on_orders``."""
        mine = np.full(len(orders.who), orders.channel == self.key)
        discount = orders.discounts.get(self.key)
        return mine | (discount > 0) if discount is not None else mine

    # ------------------------------------------------------------------ hooks (in day order)
    def start_day(self, model: "MarketModel") -> None:
        """Before the KOL posts: open windows, drop coupons, set quality shocks."""

    def post_content(self, model: "MarketModel") -> None:
        """After the organic KOL posts: sponsored content."""

    def outreach(self, model: "MarketModel") -> None:
        """After awareness: invitations, team shares and joins; may force visits."""

    def adjust_offer(self, model: "MarketModel", offer: "Offer") -> None:
        """During purchases: add discounts, utility shifts, or take orders over (deferred)."""

    def take_deferred(self, model: "MarketModel", offer: "Offer", chosen: np.ndarray) -> None:
        """Visitors ``chosen`` decided to buy through this mechanism (e.g. opened a team)."""

    def on_orders(self, model: "MarketModel", orders: "Orders") -> None:
        """After any orders are booked (solo or through a mechanism)."""

    def adjust_sharing(self, model: "MarketModel", buyers: np.ndarray, satisfied: np.ndarray,
                       prob: np.ndarray) -> np.ndarray:
        """Word of mouth: the probability each of today's buyers talks."""
        return prob

    def adjust_churn(self, model: "MarketModel", customers: np.ndarray, hazard: np.ndarray) -> np.ndarray:
        """Churn: the daily churn hazard of each customer (called for every mechanism,
        running or not: its effect on customers it brought outlives the campaign)."""
        return hazard

    def end_day(self, model: "MarketModel") -> None:
        """After churn: expire teams and coupons, settle the day."""
