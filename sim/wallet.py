"""Consumers' coupons: one slot per consumer, shared by every mechanism that issues coupons.

A coupon is (value, threshold, last valid day, issuing mechanism). It applies
automatically to an order whose paid amount before it reaches the threshold;
redeemed coupons leave the wallet. A newly issued coupon replaces a held one
only if it is worth more. Money in fen.
"""

from __future__ import annotations

import numpy as np


class Wallet:
    def __init__(self, n: int):
        self.value_cents = np.zeros(n, dtype=np.int64)
        self.threshold_cents = np.zeros(n, dtype=np.int64)
        self.last_day = np.full(n, -1, dtype=np.int32)
        self.owner = np.full(n, -1, dtype=np.int32)

    def valid(self, idx: np.ndarray, day: int) -> np.ndarray:
        return (self.owner[idx] >= 0) & (self.last_day[idx] >= day)

    def issue(self, idx: np.ndarray, value_cents: int, threshold_cents: int, last_day: int, owner: int,
              day: int) -> np.ndarray:
        """Give consumers ``idx`` a coupon; returns the mask of those who took it
        (no valid coupon held, or a smaller one)."""
        idx = np.asarray(idx)
        take = ~self.valid(idx, day) | (self.value_cents[idx] < value_cents)
        got = idx[take]
        self.value_cents[got] = value_cents
        self.threshold_cents[got] = threshold_cents
        self.last_day[got] = last_day
        self.owner[got] = owner
        return take

    def clear(self, idx: np.ndarray) -> None:
        self.value_cents[idx] = 0
        self.threshold_cents[idx] = 0
        self.last_day[idx] = -1
        self.owner[idx] = -1
