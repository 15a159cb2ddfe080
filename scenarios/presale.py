"""Pre-sale (预售): a deposit (定金) in a window before the event locks an order at the
event price; the balance (尾款) is due on the event day, and some never pay it.

One option, ``presale`` (family ``presale``):

* **Deposit.** On a window day (``start_day`` .. ``end_day``) a targeted visitor
  shown a pre-sale product (``products``) with no other deal today is offered the
  event price: ``rate`` off the order value, and each yuan of the deposit counts
  ``deposit_multiplier`` yuan (膨胀) against it. A visitor who would buy at that
  price pays ``deposit`` yuan (at most the event price) instead of ordering
  (``offer.deferred``, ``take_deferred``).
* **Balance.** On ``event_day`` each depositor pays the balance, and the order is
  booked (channel ``presale``, GMV on the event day) with the mechanism's
  discount ``rate · value + (deposit_multiplier − 1) · deposit``; paid = deposit
  + balance, to the fen. A share ``balance_default`` of depositors (and any who
  churned) never pay: no order, and the merchant keeps the deposit
  (``presale_forfeited``, outside the order ledger).

The discounts are the campaign's cost (budget: a deposit is accepted only if the
discount it promises is covered, counting the promises not yet booked). Every
deposit is a row of :meth:`Presale.deposits_frame`. Equations and sources:
``docs/model.md`` (*Anticipation and pre-sale*). Randomness only from the
mechanism's stream, full length, indexed by consumer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from scenarios.base import CampaignSettings, Mechanism, check_money, check_rate, product_mask
from scenarios.registry import register
from sim.errors import ConfigError, check_probability

DEPOSIT_COLUMNS = ("day", "consumer", "product", "merchant", "quantity", "value_cents", "deposit_cents",
                   "discount_cents", "status")


@dataclass(unsafe_hash=True)
class PresaleConfig(CampaignSettings):
    start_day: int | str = 20  # first deposit day
    end_day: int | str | None = 29  # last deposit day (inclusive)
    event_day: int | str = 30  # balance day (the event), after end_day
    rate: float = 0.3  # share of the order value off at the event price, [0, 1)
    deposit: float = 20.0  # yuan paid per pre-order (定金), at most the event price
    deposit_multiplier: float = 1.0  # 膨胀: each deposit yuan counts this many yuan at the event (>= 1)
    balance_default: float = 0.1  # P(a depositor never pays the balance), [0, 1]
    products: tuple[int, ...] = ()  # catalogue indices on pre-sale; () = every product

    DAY_KEYS = ("start_day", "end_day", "event_day")

    def validate(self, prefix: str) -> None:
        super().validate(prefix)
        if self.end_day is None:
            raise ConfigError(f"{prefix}.end_day", None, "a pre-sale window must end (before event_day)")
        if isinstance(self.event_day, (str, bool)) or self.event_day <= self.end_day:
            raise ConfigError(f"{prefix}.event_day", self.event_day,
                              f"must be a day after {prefix}.end_day={self.end_day} (the balance is paid on it)")
        check_rate(f"{prefix}.rate", self.rate)
        check_money(f"{prefix}.deposit", self.deposit)
        if not self.deposit_multiplier >= 1.0 or self.deposit_multiplier == float("inf"):
            raise ConfigError(f"{prefix}.deposit_multiplier", self.deposit_multiplier,
                              "must be a finite number >= 1 (1 = no 膨胀; 2 = ¥50 counts as ¥100)")
        check_probability(f"{prefix}.balance_default", self.balance_default)
        if any(p < 0 for p in self.products):
            raise ConfigError(f"{prefix}.products", list(self.products), "catalogue indices must be >= 0 ([] = every product)")


@register
class Presale(Mechanism):
    """Deposits in the window, balances (or forfeits) on the event day."""
    outside_window = frozenset({"start_day", "take_deferred"})  # the event day is after the window; deposits it took
    option = "presale"
    settings = PresaleConfig
    family = "presale"
    DAILY = ("presale_deposits", "presale_deposit_paid", "presale_balances_paid", "presale_defaults")

    def __init__(self, key, cfg: PresaleConfig, model, index):
        super().__init__(key, cfg, model, index)
        self.on_product = product_mask(key, cfg.products, model.catalogue.size)
        if cfg.event_day > model.config.days:
            raise ConfigError(f"campaign.{key}.event_day", cfg.event_day,
                              f"must be <= days={model.config.days}: the balances would never be paid")
        self.deposit_cents = int(round(cfg.deposit * 100))
        self.reserved_cents = 0  # discounts promised to depositors, not yet booked
        self._rows: list[dict[str, np.ndarray]] = []  # pre-orders, in deposit order
        self._deposit: np.ndarray | None = None  # today's deposit per visitor (fen)
        self.merchant_of = model.catalogue.merchant
        self.status: np.ndarray | None = None  # per pre-order once settled: "paid" or "forfeited"
        self.balance_cents = 0  # balances paid on the event day
        self.forfeited_cents = 0  # deposits kept by the merchants

    @property
    def live(self) -> bool:
        return self.cfg.rate > 0 or self.cfg.deposit_multiplier > 1

    def running(self, day: int) -> bool:
        return super().running(day) and self.live

    # ------------------------------------------------------------------ deposits
    def adjust_offer(self, model, offer) -> None:
        """Visitors shown a pre-sale product with no other deal: the event price, taken over."""
        cfg = self.cfg
        free = (self.targeted(model, offer.who) & self.on_product[offer.product] & (offer.deferred == -1)
                & (offer.discount_cents == 0))
        event_price = offer.value_cents - np.rint(offer.value_cents * cfg.rate).astype(np.int64)
        deposit = np.minimum(self.deposit_cents, event_price)
        # 膨胀: the deposit counts more, never beyond the event price (the balance is >= 0)
        bonus = np.minimum(np.rint(deposit * (cfg.deposit_multiplier - 1.0)).astype(np.int64), event_price - deposit)
        offer.add_discount(self.key, offer.value_cents - event_price + bonus, where=free)
        offer.deferred[free] = self.index
        self._deposit = deposit

    def ration(self, model, offer, buy) -> np.ndarray:
        """Deposits whose promised discount the budget cannot cover (with the promises
        not yet booked), in a random order."""
        mine = offer.discount_of(self.key)
        lost = np.zeros(len(offer.who), dtype=bool)
        if mine is None or self.budget_cents is None:
            return lost
        want = np.flatnonzero(buy & (mine > 0))
        order = want[np.argsort(self.rng.random(len(want)), kind="stable")]
        covered = self.affordable(mine[order], self.reserved_cents)
        lost[order[~covered]] = True
        if (~covered).any():
            self.exhausted = True
        return lost

    def take_deferred(self, model, offer, chosen) -> None:
        discount = offer.discount_of(self.key)[chosen]
        deposit = self._deposit[chosen]
        self._rows.append({"day": np.full(int(chosen.sum()), model.day, dtype=np.int32),
                           "consumer": offer.who[chosen], "product": offer.product[chosen],
                           "quantity": offer.quantity[chosen], "value_cents": offer.value_cents[chosen],
                           "deposit_cents": deposit, "discount_cents": discount})
        self.reserved_cents += int(discount.sum())
        self.benefits[offer.who[chosen]] += 1
        self.count("presale_deposits", int(chosen.sum()))
        self.count("presale_deposit_paid", int(deposit.sum()) / 100)

    # ------------------------------------------------------------------ the event day
    def start_day(self, model) -> None:
        if model.day != self.cfg.event_day or not self._rows:
            return
        rows = self.pre_orders()
        u = self.rng.random(model.n)
        who = rows["consumer"]
        default = (u[who] < self.cfg.balance_default) | model.consumers.churned[who]
        pay = ~default
        self.reserved_cents = 0
        self.forfeited_cents = int(rows["deposit_cents"][default].sum())
        self.status = np.where(default, "forfeited", "paid")
        self.count("presale_defaults", int(default.sum()))
        self.count("presale_balances_paid", int(pay.sum()))
        if pay.any():
            self.balance_cents = int((rows["value_cents"][pay] - rows["discount_cents"][pay]
                                      - rows["deposit_cents"][pay]).sum())
            model.book_orders(who[pay], rows["product"][pay], rows["quantity"][pay], rows["value_cents"][pay],
                              {self.key: rows["discount_cents"][pay]}, channel=self.key)

    def pre_orders(self) -> dict[str, np.ndarray]:
        """Every deposit so far, as columns (in deposit order)."""
        if not self._rows:
            return {c: np.zeros(0, dtype=np.int64) for c in DEPOSIT_COLUMNS if c != "status"}
        return {c: np.concatenate([r[c] for r in self._rows]) for c in self._rows[0]}

    def deposits_frame(self) -> pd.DataFrame:
        """One row per deposit: day, consumer, product, merchant, quantity, value, deposit and
        promised discount (fen), and ``status``: ``held`` (before the event day), ``paid``
        (balance paid, order booked) or ``forfeited`` (kept by the merchant)."""
        rows = self.pre_orders()
        frame = pd.DataFrame(rows)
        frame["merchant"] = self.merchant_of[frame["product"].to_numpy()]
        frame["status"] = self.status if self.status is not None else np.full(len(frame), "held")
        return frame

    def summary(self, model) -> dict:
        t = self.totals
        deposits = int(t.get("presale_deposits", 0))
        settled = int(t.get("presale_defaults", 0)) + int(t.get("presale_balances_paid", 0))
        return {
            "presale_deposits": deposits,
            "presale_deposit_total": round(sum(int(r["deposit_cents"].sum()) for r in self._rows) / 100, 2),
            "presale_orders": int(t.get("presale_balances_paid", 0)),
            "presale_defaults": int(t.get("presale_defaults", 0)),
            "presale_default_rate": int(t.get("presale_defaults", 0)) / settled if settled else None,
            "presale_balance_total": self.balance_cents / 100,
            "presale_forfeited": self.forfeited_cents / 100,
        }
