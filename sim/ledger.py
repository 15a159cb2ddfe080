"""The order ledger: every order placed, with its money split, in integer cents.

For each order: ``value`` (list price, the GMV it adds), ``discount`` (borne by
the campaign), ``paid = value - discount``, ``commission = round(rate * paid)``
to the platform, and ``merchant_revenue = paid - commission``. Hence, to the
cent: merchant revenue + platform commission + discounts = GMV.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

COLUMNS = ("day", "consumer", "product", "merchant", "value_cents", "discount_cents", "commission_cents")
_DTYPES = {"day": np.int16, "consumer": np.int32, "product": np.int32, "merchant": np.int32,
           "value_cents": np.int32, "discount_cents": np.int32, "commission_cents": np.int32}


class OrderLedger:
    """Append-only, one chunk of arrays per day; totals kept as exact integers."""

    def __init__(self) -> None:
        self._chunks: list[dict[str, np.ndarray]] = []
        self.n_orders = 0
        self.gmv_cents = 0
        self.discount_cents = 0
        self.commission_cents = 0
        self.cost_cents = 0

    def record(self, day: int, consumer: np.ndarray, product: np.ndarray, merchant: np.ndarray,
               value_cents: np.ndarray, discount_cents: np.ndarray, commission_rate: float,
               unit_cost_cents: np.ndarray) -> tuple[dict[str, int], np.ndarray]:
        """Add one day's orders; returns that day's totals in cents and each order's commission."""
        value = np.asarray(value_cents, dtype=np.int64)
        discount = np.asarray(discount_cents, dtype=np.int64)
        if np.any(discount < 0) or np.any(discount > value):
            raise ValueError("a discount must lie between 0 and the order value")
        commission = np.round((value - discount) * commission_rate).astype(np.int64)
        chunk = {"day": np.full(len(value), day), "consumer": consumer, "product": product,
                 "merchant": merchant, "value_cents": value, "discount_cents": discount,
                 "commission_cents": commission}
        self._chunks.append({k: np.asarray(v, dtype=_DTYPES[k]) for k, v in chunk.items()})
        totals = {"orders": len(value), "gmv_cents": int(value.sum()),
                  "discount_cents": int(discount.sum()), "commission_cents": int(commission.sum()),
                  "cost_cents": int(np.asarray(unit_cost_cents, dtype=np.int64).sum())}
        self.n_orders += totals["orders"]
        self.gmv_cents += totals["gmv_cents"]
        self.discount_cents += totals["discount_cents"]
        self.commission_cents += totals["commission_cents"]
        self.cost_cents += totals["cost_cents"]
        return totals, commission

    @property
    def merchant_revenue_cents(self) -> int:
        """Paid amounts less commission, summed (cents)."""
        return self.gmv_cents - self.discount_cents - self.commission_cents

    def column(self, name: str) -> np.ndarray:
        if not self._chunks:
            return np.zeros(0, dtype=_DTYPES[name])
        return np.concatenate([c[name] for c in self._chunks])

    def to_frame(self) -> pd.DataFrame:
        """All orders, one row each, with ``merchant_revenue_cents`` derived."""
        frame = pd.DataFrame({name: self.column(name) for name in COLUMNS})
        frame["merchant_revenue_cents"] = (frame["value_cents"].astype(np.int64)
                                           - frame["discount_cents"] - frame["commission_cents"])
        return frame
