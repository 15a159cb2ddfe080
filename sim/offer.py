"""What a visitor is offered today, and the orders that result.

The purchase phase builds an :class:`Offer` for every visitor (the product the
platform shows, at list price, quantity 1); running campaign mechanisms add
discounts and utility shifts or take the order over; the visitor decides on the
resulting price. Booked orders are passed to every mechanism as :class:`Orders`.
Money is in integer fen (cents).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def total_discount(discounts: dict[str, np.ndarray], n: int) -> np.ndarray:
    """Sum of the mechanisms' discounts per visitor or order (fen, int64)."""
    total = np.zeros(n, dtype=np.int64)
    for d in discounts.values():
        total += d
    return total


@dataclass(eq=False)
class Offer:
    who: np.ndarray  # consumer ids (visitors)
    product: np.ndarray  # catalogue index shown to each
    quantity: np.ndarray  # units (int64)
    value_cents: np.ndarray  # list price x quantity (int64): the GMV the order would add
    discounts: dict[str, np.ndarray] = field(default_factory=dict)  # mechanism key -> fen per visitor
    utility_shift: np.ndarray | None = None  # extra purchase utility (e.g. livestream excitement)
    deferred: np.ndarray | None = None  # index of the mechanism that takes the order over, or -1
    coupon_owner: np.ndarray | None = None  # mechanism index whose wallet coupon applies, or -1

    def __post_init__(self) -> None:
        n = len(self.who)
        if self.utility_shift is None:
            self.utility_shift = np.zeros(n)
        if self.deferred is None:
            self.deferred = np.full(n, -1, dtype=np.int32)
        if self.coupon_owner is None:
            self.coupon_owner = np.full(n, -1, dtype=np.int32)

    @classmethod
    def at_list_price(cls, who: np.ndarray, product: np.ndarray, list_price_cents: np.ndarray) -> "Offer":
        return cls(who=who, product=product, quantity=np.ones(len(who), dtype=np.int64),
                   value_cents=list_price_cents[product].astype(np.int64))

    @property
    def discount_cents(self) -> np.ndarray:
        """Total discount per visitor (fen)."""
        return total_discount(self.discounts, len(self.who))

    @property
    def paid_cents(self) -> np.ndarray:
        return self.value_cents - self.discount_cents

    def unit_paid_yuan(self) -> np.ndarray:
        """What one unit costs the visitor after discounts (yuan)."""
        return self.paid_cents / self.quantity / 100.0

    def add_discount(self, key: str, cents: np.ndarray, where: np.ndarray | None = None) -> np.ndarray:
        """Add discount ``cents`` from mechanism ``key`` (only ``where``), never beyond the
        order value. Returns the discount actually added per visitor."""
        cents = np.broadcast_to(np.asarray(cents, dtype=np.int64), self.who.shape).copy()
        if where is not None:
            cents[~where] = 0
        cents = np.clip(cents, 0, self.paid_cents)
        if key in self.discounts:
            self.discounts[key] = self.discounts[key] + cents
        else:
            self.discounts[key] = cents
        return cents

    def discount_of(self, key: str) -> np.ndarray | None:
        return self.discounts.get(key)

    def remove(self, key: str, index: int, mask: np.ndarray) -> None:
        """Mechanism ``key`` (index ``index``) withdraws from visitors ``mask``:
        its discount, its deferral and its coupon."""
        if key in self.discounts:
            self.discounts[key] = np.where(mask, 0, self.discounts[key])
        self.deferred[mask & (self.deferred == index)] = -1
        self.coupon_owner[mask & (self.coupon_owner == index)] = -1

    def select(self, mask: np.ndarray) -> dict:
        """The fields of the visitors in ``mask``, as keyword arguments of ``book_orders``."""
        return {"who": self.who[mask], "product": self.product[mask], "quantity": self.quantity[mask],
                "value_cents": self.value_cents[mask],
                "discounts": {k: v[mask] for k, v in self.discounts.items()},
                "coupon_owner": self.coupon_owner[mask]}


@dataclass(eq=False)
class Orders:
    """Orders booked together (one call of ``MarketModel.book_orders``)."""

    day: int
    channel: str  # "solo" or the key of the mechanism that created them (e.g. "team_purchase")
    who: np.ndarray
    product: np.ndarray
    quantity: np.ndarray
    value_cents: np.ndarray
    discounts: dict[str, np.ndarray]
    coupon_owner: np.ndarray  # mechanism index whose coupon was redeemed, or -1
    new_customer: np.ndarray  # bool: this is the consumer's first purchase
    rows: np.ndarray | None = None  # their rows in the order ledger (set once booked)

    @property
    def discount_cents(self) -> np.ndarray:
        """Total discount per order (fen)."""
        return total_discount(self.discounts, len(self.who))
