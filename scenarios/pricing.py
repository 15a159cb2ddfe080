"""The pricing family: discounts, threshold discounts, coupons, flash sales, new-user subsidies.

Options (``campaign=<option>``), each a mechanism of family ``pricing``:

* ``discount``: ``rate`` off the order value of the ``products`` (限时折扣 with
  ``start_day``/``end_day``); optionally announced on its first day
  (``announce_visit_prob``).
* ``threshold_discount`` (满减): spend ``threshold`` yuan, get ``off`` yuan off;
  visitors below the threshold may top up (凑单) by buying more units.
* ``coupon``: coupons of ``value`` yuan (``threshold``, ``validity_days``) issued
  each day with ``issue_prob`` to targeted consumers; redeemed by the model's
  wallet when the holder visits and buys before expiry.
* ``flash_sale`` (秒杀): ``rate`` off the ``products`` with ``stock`` units per
  product per day at the flash price, rationed among buyers in a random order.
* ``new_user_subsidy``: ``value`` yuan off a new user's first order.

Every price cut is a discount booked on the order (``offer.add_discount``); the
model charges it to the mechanism's cost and budget. Equations, config keys and
metrics: ``docs/model.md (Campaigns)``. Money in fen; randomness only from the
mechanism's own stream, drawn full length and indexed by consumer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from scenarios.anticipation import AnticipationSettings, RunUp
from scenarios.base import CampaignSettings, Mechanism, check_money, check_rate, product_mask
from scenarios.registry import register
from sim.errors import ConfigError, check_at_least, check_probability

#: The daily metric columns of the family (shared by every pricing option).
PRICING_DAILY = ("pricing_discounts", "pricing_coupons_issued", "pricing_coupons_redeemed",
                 "pricing_stockouts", "pricing_flash_units_sold", "pricing_subsidies")


def _cents(yuan: float) -> int:
    return int(round(yuan * 100))


def check_products(key: str, products: tuple[int, ...]) -> None:
    if any(p < 0 for p in products):
        raise ConfigError(key, list(products), "catalogue indices must be >= 0 ([] = every product)")


# --------------------------------------------------------------------------- configs
@dataclass(unsafe_hash=True)
class DiscountConfig(CampaignSettings):
    rate: float = 0.1  # share of the order value taken off, [0, 1)
    products: tuple[int, ...] = ()  # catalogue indices discounted; () = every product
    announce_visit_prob: float = 0.0  # P(an aware consumer visits on the first day because of the announcement)

    def validate(self, prefix: str) -> None:
        super().validate(prefix)
        check_rate(f"{prefix}.rate", self.rate)
        check_products(f"{prefix}.products", self.products)
        check_probability(f"{prefix}.announce_visit_prob", self.announce_visit_prob)


@dataclass(unsafe_hash=True)
class ThresholdDiscountConfig(CampaignSettings):
    threshold: float = 100.0  # yuan the order must reach (paid amount before this discount)
    off: float = 15.0  # yuan off an order that reaches the threshold
    max_units: int = 3  # most units a visitor buys to reach the threshold (凑单)
    topup_prob: float = 0.3  # P(a visitor below the threshold considers topping up)
    products: tuple[int, ...] = ()  # catalogue indices it applies to; () = every product

    def validate(self, prefix: str) -> None:
        super().validate(prefix)
        check_money(f"{prefix}.threshold", self.threshold)
        check_money(f"{prefix}.off", self.off)
        if self.threshold < self.off:
            raise ConfigError(f"{prefix}.threshold", self.threshold, f"must be >= {prefix}.off={self.off}")
        check_at_least(f"{prefix}.max_units", self.max_units, 1)
        check_probability(f"{prefix}.topup_prob", self.topup_prob)
        check_products(f"{prefix}.products", self.products)


@dataclass(unsafe_hash=True)
class CouponConfig(CampaignSettings):
    value: float = 10.0  # yuan off an order that reaches the threshold
    threshold: float = 50.0  # yuan the order's paid amount must reach for the coupon to apply (0 = 无门槛)
    validity_days: int = 7  # days a coupon stays valid, the issue day included
    issue_prob: float = 0.02  # P(a targeted, aware, not churned consumer is issued a coupon) per day
    reminder_visit_prob: float = 0.2  # P(a consumer who received a coupon visits that day because of it)
    lapsed_days: int | None = None  # only customers whose last purchase is >= this many days old (null = off)

    def validate(self, prefix: str) -> None:
        super().validate(prefix)
        check_money(f"{prefix}.value", self.value)
        check_money(f"{prefix}.threshold", self.threshold)
        check_at_least(f"{prefix}.validity_days", self.validity_days, 1)
        check_probability(f"{prefix}.issue_prob", self.issue_prob)
        check_probability(f"{prefix}.reminder_visit_prob", self.reminder_visit_prob)
        if self.lapsed_days is not None and self.lapsed_days < 1:
            raise ConfigError(f"{prefix}.lapsed_days", self.lapsed_days, "must be an integer >= 1 or null")
        if self.lapsed_days is not None and self.target == "new_users":
            raise ConfigError(f"{prefix}.lapsed_days", self.lapsed_days,
                              "targets lapsed customers: incompatible with target=new_users")


@dataclass(unsafe_hash=True)
class FlashSaleConfig(AnticipationSettings, CampaignSettings):
    start_day: int | str = 30
    end_day: int | str | None = 32
    rate: float = 0.5  # share of the unit list price taken off one unit, [0, 1)
    products: tuple[int, ...] = (0,)  # catalogue indices on flash sale; () = every product
    stock: int = 20  # units of each flash product released at the flash price each day (real market)
    visit_boost_prob: float = 0.2  # P(an aware consumer visits, to a flash product, on a sale day)
    # announced ahead (announce_day and the other keys: scenarios/anticipation.py): consumers who
    # know of it put off buying the flash products, expecting ``rate`` off

    DAY_KEYS = ("start_day", "end_day", "announce_day")

    def validate(self, prefix: str) -> None:
        super().validate(prefix)
        self.validate_anticipation(prefix, self.start_day)
        check_rate(f"{prefix}.rate", self.rate)
        check_products(f"{prefix}.products", self.products)
        if self.stock < 0:
            raise ConfigError(f"{prefix}.stock", self.stock, "must be an integer >= 0 (units per product per day)")
        check_probability(f"{prefix}.visit_boost_prob", self.visit_boost_prob)


@dataclass(unsafe_hash=True)
class NewUserSubsidyConfig(CampaignSettings):
    target: str = "new_users"
    value: float = 10.0  # yuan off a new user's first order

    def validate(self, prefix: str) -> None:
        super().validate(prefix)
        if self.target == "customers":
            raise ConfigError(f"{prefix}.target", self.target,
                              "a new-user subsidy goes to first orders: use new_users, everyone, segment or community")
        check_money(f"{prefix}.value", self.value)


# --------------------------------------------------------------------------- mechanisms
class PricingMechanism(Mechanism):
    """What the pricing options share: product scope, announcements, cost and margin
    accounting on the orders that carry this mechanism's discount, and the family summary."""
    outside_window = frozenset({"on_orders"})

    family = "pricing"
    DAILY = PRICING_DAILY
    #: the daily column (yuan) this option's discounts are counted in
    COST_COLUMN: ClassVar[str] = "pricing_discounts"
    #: the registered option name
    OPTION: ClassVar[str] = ""

    def __init__(self, key, cfg, model, index):
        super().__init__(key, cfg, model, index)
        products = tuple(getattr(cfg, "products", ()))
        self.products = np.asarray(products, dtype=np.int64)
        self.on_product = product_mask(key, products, model.catalogue.size)
        self.announced = np.zeros(model.n, dtype=bool)  # announced to today (shown a campaign product)
        self.orders_carrying = 0  # orders booked with this mechanism's discount
        self.margin_cents = 0  # merchant margin on those orders
        self.family_orders = 0  # (first pricing mechanism only) orders with any pricing discount
        self.family_margin_cents = 0
        self._family: list[PricingMechanism] | None = None

    @property
    def live(self) -> bool:
        """Non-zero intensity: at zero intensity the mechanism changes nothing."""
        return False

    # ------------------------------------------------------------------ shared rules
    def announce(self, model, prob: float) -> np.ndarray:
        """Aware, not churned, targeted consumers visit today with probability ``prob``
        (``model.visit_boost``); returns them. One full-length draw per call."""
        u = self.rng.random(model.n)
        c = model.consumers
        idx = np.flatnonzero(c.aware & ~c.churned & (u < prob))
        idx = idx[self.targeted(model, idx)]
        model.visit_boost[idx] = True
        self.announced[:] = False
        self.announced[idx] = True
        return idx

    def show_campaign_products(self, model, offer) -> None:
        """Visitors brought by today's announcement are shown one of the campaign's
        products (uniformly), unless another mechanism has already changed their offer."""
        if not len(self.products):
            return
        u = self.rng.random(model.n)[offer.who]
        move = (self.announced[offer.who] & (offer.discount_cents == 0) & (offer.quantity == 1)
                & (offer.deferred == -1) & (offer.coupon_owner == -1))
        if not move.any():
            return
        pick = self.products[np.minimum((u * len(self.products)).astype(np.int64), len(self.products) - 1)]
        offer.product[move] = pick[move]
        offer.value_cents[move] = model.catalogue.list_price_cents[pick[move]]

    def eligible(self, model, offer) -> np.ndarray:
        """Visitors this option may discount: targeted (and under the per-user cap) and on a campaign product."""
        return self.targeted(model, offer.who) & self.on_product[offer.product]

    # ------------------------------------------------------------------ accounting
    def family_members(self, model) -> list["PricingMechanism"]:
        if self._family is None:
            self._family = [m for m in model.mechanisms if isinstance(m, PricingMechanism)]
        return self._family

    @staticmethod
    def order_margin_cents(model, orders, mask: np.ndarray) -> int:
        """Merchant margin (paid − commission − cost of goods, fen) of the orders in ``mask``;
        commission as in the ledger: round(ρ · paid)."""
        if not mask.any():
            return 0
        paid = orders.value_cents[mask] - orders.discount_cents[mask]
        commission = np.round(paid * model.platform.commission_rate).astype(np.int64)
        cost = model.catalogue.unit_cost_cents[orders.product[mask]] * orders.quantity[mask]
        return int((paid - commission - cost).sum())

    def on_orders(self, model, orders) -> None:
        family = self.family_members(model)
        if family[0] is self:  # family totals, each order counted once
            carrying = np.zeros(len(orders.who), dtype=bool)
            for m in family:
                d = orders.discounts.get(m.key)
                if d is not None:
                    carrying |= d > 0
            self.family_orders += int(carrying.sum())
            self.family_margin_cents += self.order_margin_cents(model, orders, carrying)
        d = orders.discounts.get(self.key)
        if d is None:
            return
        mine = d > 0
        if not mine.any():
            return
        self.count(self.COST_COLUMN, int(d.sum()) / 100)
        self.orders_carrying += int(mine.sum())
        self.margin_cents += self.order_margin_cents(model, orders, mine)
        self.booked(model, orders, mine)

    def booked(self, model, orders, mine: np.ndarray) -> None:
        """Orders ``mine`` carrying this mechanism's discount were booked (option-specific counts)."""

    # ------------------------------------------------------------------ summary
    def option_summary(self) -> dict:
        return {"option": type(self).OPTION, "cost": self.spent_cents / 100, "orders": self.orders_carrying,
                "margin": self.margin_cents / 100}

    def summary(self, model) -> dict:
        """Family KPIs over every pricing mechanism of the run (identical whichever reports last)."""
        family = self.family_members(model)

        def total(name: str) -> int:
            return int(round(sum(m.totals.get(name, 0) for m in family)))

        issued, redeemed = total("pricing_coupons_issued"), total("pricing_coupons_redeemed")
        subsidy = [m for m in family if m.COST_COLUMN == "pricing_subsidies"]
        return {
            "coupons_issued": issued, "coupons_redeemed": redeemed,
            "coupon_redemption_rate": redeemed / issued if issued else None,
            "flash_stockouts": total("pricing_stockouts"), "flash_units_sold": total("pricing_flash_units_sold"),
            "discounts_granted": sum(m.spent_cents for m in family if m not in subsidy) / 100,
            "subsidies": sum(m.spent_cents for m in subsidy) / 100,
            "pricing_orders": family[0].family_orders,
            "pricing_margin": family[0].family_margin_cents / 100,
            "pricing_by_option": {m.key: m.option_summary() for m in family},
        }


@register
class Discount(PricingMechanism):
    """``rate`` off the order value of the campaign products, for targeted visitors."""
    option = "discount"
    settings = DiscountConfig

    OPTION = "discount"

    @property
    def live(self) -> bool:
        return self.cfg.rate > 0

    def start_day(self, model) -> None:
        if self.live and model.day == self.cfg.start_day and self.cfg.announce_visit_prob > 0:
            self.count("discount_announced", len(self.announce(model, self.cfg.announce_visit_prob)))
        else:
            self.announced[:] = False

    def adjust_offer(self, model, offer) -> None:
        if not self.live:
            return
        if self.announced.any():
            self.show_campaign_products(model, offer)
        cents = np.rint(offer.value_cents * self.cfg.rate).astype(np.int64)
        offer.add_discount(self.key, cents, where=self.eligible(model, offer))


@register
class ThresholdDiscount(PricingMechanism):
    """满减: ``off`` yuan off orders whose paid amount reaches ``threshold``; visitors
    below it top up (凑单) when buying q units lowers what one unit costs."""
    outside_window = frozenset({"on_orders", "ration"})
    option = "threshold_discount"
    settings = ThresholdDiscountConfig

    OPTION = "threshold_discount"

    def __init__(self, key, cfg, model, index):
        super().__init__(key, cfg, model, index)
        self.threshold_cents = _cents(cfg.threshold)
        self.off_cents = _cents(cfg.off)
        self._offer = None  # today's offer and the top-ups made on it (undone if rationed)
        self._topped = np.zeros(0, dtype=bool)
        self._unit_value = np.zeros(0, dtype=np.int64)

    @property
    def live(self) -> bool:
        return self.off_cents > 0

    def adjust_offer(self, model, offer) -> None:
        if not self.live:
            return
        u = self.rng.random(model.n)[offer.who]
        elig = self.eligible(model, offer)
        paid = offer.paid_cents
        reach = elig & (paid >= self.threshold_cents)
        price = model.catalogue.list_price_cents[offer.product]
        others = offer.discount_cents
        # q units bring the paid amount q·P − D to the threshold T: q = ceil((T + D) / P)
        q = -(-(self.threshold_cents + others) // price)
        new_paid = q * price - others - self.off_cents
        topup = (elig & ~reach & (u < self.cfg.topup_prob) & (offer.quantity == 1) & (offer.deferred == -1)
                 & (q >= 2) & (q <= self.cfg.max_units)
                 & (new_paid < q * paid)  # one unit costs less: (qP − D − off)/q < P − D
                 & (new_paid / 100.0 <= model.consumers.budget[offer.who]))  # within budget
        self._offer, self._topped, self._unit_value = offer, topup, offer.value_cents.copy()
        offer.quantity[topup] = q[topup]
        offer.value_cents[topup] = (q * price)[topup]
        offer.add_discount(self.key, self.off_cents, where=reach | topup)
        self.count("threshold_topups_offered", int(topup.sum()))

    def ration(self, model, offer, buy) -> np.ndarray:
        lost = super().ration(model, offer, buy)
        if lost.any() and offer is self._offer:
            # the budget ran out: a visitor who topped up only for the deal goes back to one unit,
            # unless other discounts or a coupon were granted on the larger order
            mine = offer.discount_of(self.key)
            rest = offer.discount_cents - mine
            undo = lost & self._topped & (rest <= self._unit_value) & (offer.coupon_owner == -1)
            offer.quantity[undo] = 1
            offer.value_cents[undo] = self._unit_value[undo]
        return lost

    def booked(self, model, orders, mine) -> None:
        self.count("threshold_orders", int(mine.sum()))
        self.count("threshold_topup_orders", int((mine & (orders.quantity > 1)).sum()))

    def option_summary(self) -> dict:
        return {**super().option_summary(), "topup_orders": int(self.totals.get("threshold_topup_orders", 0))}


@register
class Coupon(PricingMechanism):
    """Coupons issued to targeted consumers and redeemed through the model's wallet."""
    outside_window = frozenset({"on_orders", "ration"})
    option = "coupon"
    settings = CouponConfig

    OPTION = "coupon"

    def __init__(self, key, cfg, model, index):
        super().__init__(key, cfg, model, index)
        self.value_cents = _cents(cfg.value)
        self.threshold_cents = _cents(cfg.threshold)
        self.issue_day = np.full(model.n, -1, dtype=np.int32)  # day of each consumer's last coupon from us
        self.last_day = np.full(model.n, -1, dtype=np.int32)  # its last valid day
        self._redemptions: list[np.ndarray] = []  # rows (day, consumer, issue day, last valid day)

    @property
    def live(self) -> bool:
        return self.value_cents > 0

    def start_day(self, model) -> None:
        if not self.live:
            return
        day, cfg, c = model.day, self.cfg, model.consumers
        u_issue, u_visit = self.rng.random(model.n), self.rng.random(model.n)
        pool = c.aware & ~c.churned & (u_issue < cfg.issue_prob)
        if cfg.lapsed_days is not None:
            last = c.last_purchase_day
            pool &= (last >= 0) & (day - last >= cfg.lapsed_days)
        idx = np.flatnonzero(pool)
        idx = idx[self.targeted(model, idx)]
        last_day = day + cfg.validity_days - 1
        got = idx[model.wallet.issue(idx, self.value_cents, self.threshold_cents, last_day, self.index, day)]
        self.issue_day[got] = day
        self.last_day[got] = last_day
        model.visit_boost[got[u_visit[got] < cfg.reminder_visit_prob]] = True
        self.count("pricing_coupons_issued", len(got))

    def on_orders(self, model, orders) -> None:
        super().on_orders(model, orders)
        who = orders.who[orders.coupon_owner == self.index]  # redeemed (the wallet applied our coupon)
        if len(who):
            self.count("pricing_coupons_redeemed", len(who))
            self._redemptions.append(np.column_stack([np.full(len(who), orders.day), who,
                                                      self.issue_day[who], self.last_day[who]]))

    def redemptions(self) -> np.ndarray:
        """Every redemption: rows (day, consumer, issue day, last valid day of the coupon)."""
        if not self._redemptions:
            return np.zeros((0, 4), dtype=np.int64)
        return np.concatenate(self._redemptions).astype(np.int64)

    def option_summary(self) -> dict:
        issued = int(self.totals.get("pricing_coupons_issued", 0))
        redeemed = int(self.totals.get("pricing_coupons_redeemed", 0))
        return {**super().option_summary(), "issued": issued, "redeemed": redeemed,
                "redemption_rate": redeemed / issued if issued else None}


@register
class FlashSale(PricingMechanism):
    """秒杀: one unit at ``rate`` off, ``stock`` units per flash product per day, in a random order;
    announced ahead (``announce_day``), consumers who know of it put off buying the flash
    products in the run-up (``scenarios.anticipation``)."""
    outside_window = frozenset({"on_orders", "ration"})
    option = "flash_sale"
    settings = FlashSaleConfig
    DAILY = PRICING_DAILY + ("flash_deferred", "flash_deferred_returned")

    OPTION = "flash_sale"
    return_channel = "flash_sale"  # the orders carrying its discount

    def __init__(self, key, cfg, model, index):
        super().__init__(key, cfg, model, index)
        self.left = np.zeros(model.catalogue.size, dtype=np.int64)  # flash units left today per product
        self.run_up_to = RunUp.of(self, model, cfg, cfg.start_day, cfg.rate)  # None: not announced

    @property
    def live(self) -> bool:
        return self.cfg.rate > 0

    def run_up(self, day: int) -> bool:
        return self.run_up_to is not None and self.run_up_to.on(day) and not self.exhausted

    def running(self, day: int) -> bool:
        """The run-up (announced) and the sale days."""
        return self.run_up(day) or super().running(day)

    def take_deferred(self, model, offer, chosen) -> None:
        self.count("flash_deferred", self.run_up_to.take_deferred(offer, chosen))

    def on_orders(self, model, orders) -> None:
        super().on_orders(model, orders)
        if self.run_up_to is not None and super().running(model.day):
            self.count("flash_deferred_bought", int(self.run_up_to.waited[orders.who].sum()))

    def summary(self, model) -> dict:
        out = super().summary(model)
        if self.run_up_to is not None:
            t = self.totals
            out.update(self.run_up_to.summary("flash", int(t.get("flash_deferred", 0)),
                                              int(t.get("flash_deferred_bought", 0))))
        return out

    def start_day(self, model) -> None:
        if self.run_up_to is not None:
            self.run_up_to.start_day(model)
            if self.run_up(model.day):
                return  # the run-up: no stock, no announcement yet
            if model.day == self.cfg.start_day:  # the waiting come back
                self.count("flash_deferred_returned", len(self.run_up_to.come_back(model)))
        # the stock is stated for the real market: scaled, a fraction of a unit released at random
        stock = self.cfg.stock * self.scale
        released = int(stock) + int(self.rng.random() < stock - int(stock)) if self.scale != 1.0 else self.cfg.stock
        self.left[:] = np.where(self.on_product, released, 0)
        if self.live and self.cfg.visit_boost_prob > 0:
            self.count("flash_announced", len(self.announce(model, self.cfg.visit_boost_prob)))
        else:
            self.announced[:] = False

    def adjust_offer(self, model, offer) -> None:
        if not self.live:
            return
        if self.run_up(model.day):  # only the flash products are worth waiting for
            self.run_up_to.defer(model, offer, self.on_product[offer.product])
            return
        self.show_campaign_products(model, offer)
        unit = model.catalogue.list_price_cents[offer.product]
        cents = np.rint(unit * self.cfg.rate).astype(np.int64)
        # everyone sees the flash price; who gets a unit is decided in ration (sold out = stock-out)
        offer.add_discount(self.key, cents, where=self.eligible(model, offer))

    def ration(self, model, offer, buy) -> np.ndarray:
        stock_lost = np.zeros(len(offer.who), dtype=bool)
        mine = offer.discount_of(self.key)
        if mine is not None and self.live and self.running(model.day):
            key = self.rng.random(model.n)[offer.who]  # each buyer's place in the queue
            want = np.flatnonzero(buy & (mine > 0))
            order = want[np.lexsort((key[want], offer.product[want]))]
            product = offer.product[order]
            rank = np.arange(len(order)) - np.searchsorted(product, product, side="left")
            out = rank >= self.left[product]
            stock_lost[order[out]] = True
            self.count("pricing_stockouts", int(out.sum()))
        return stock_lost | super().ration(model, offer, buy & ~stock_lost)

    def booked(self, model, orders, mine) -> None:
        self.left -= np.bincount(orders.product[mine], minlength=len(self.left))
        self.count("pricing_flash_units_sold", int(mine.sum()))

    def option_summary(self) -> dict:
        return {**super().option_summary(), "units_sold": int(self.totals.get("pricing_flash_units_sold", 0)),
                "stockouts": int(self.totals.get("pricing_stockouts", 0))}


@register
class NewUserSubsidy(PricingMechanism):
    """``value`` yuan off a consumer's first order (a subsidy)."""
    option = "new_user_subsidy"
    settings = NewUserSubsidyConfig

    OPTION = "new_user_subsidy"
    COST_COLUMN = "pricing_subsidies"

    def __init__(self, key, cfg, model, index):
        super().__init__(key, cfg, model, index)
        self.value_cents = _cents(cfg.value)

    @property
    def live(self) -> bool:
        return self.value_cents > 0

    def adjust_offer(self, model, offer) -> None:
        if not self.live:
            return
        first = model.consumers.first_purchase_day[offer.who] < 0
        offer.add_discount(self.key, self.value_cents, where=self.targeted(model, offer.who) & first)

    def booked(self, model, orders, mine) -> None:
        self.count("subsidized_first_orders", int((mine & orders.new_customer).sum()))
