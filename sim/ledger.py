"""The order ledger: every order placed, with its money split, in integer cents.

For each order: ``value`` (list price, the GMV it adds), ``discount`` (borne by
the campaign), ``paid = value - discount``, ``commission = round(rate * paid)``
to the platform, and ``merchant_revenue = paid - commission``. Hence, to the
cent: merchant revenue + platform commission + discounts = GMV.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

COLUMNS = ("day", "consumer", "product", "merchant", "quantity", "channel", "value_cents", "discount_cents",
           "commission_cents")
_DTYPES = {"day": np.int16, "consumer": np.int32, "product": np.int32, "merchant": np.int32,
           "quantity": np.int16, "channel": np.int16, "value_cents": np.int32, "discount_cents": np.int32,
           "commission_cents": np.int32}


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
               cost_cents: np.ndarray, quantity: np.ndarray | int = 1,
               channel: int = 0) -> tuple[dict[str, int], np.ndarray]:
        """Add orders; returns their totals in cents and each order's commission.

        ``cost_cents``: cost of the goods of each order; ``channel``: 0 for a solo
        order, 1 + the mechanism index for orders a campaign mechanism created."""
        value = np.asarray(value_cents, dtype=np.int64)
        discount = np.asarray(discount_cents, dtype=np.int64)
        if np.any(discount < 0) or np.any(discount > value):
            raise ValueError("a discount must lie between 0 and the order value")
        commission = np.round((value - discount) * commission_rate).astype(np.int64)
        chunk = {"day": np.full(len(value), day), "consumer": consumer, "product": product,
                 "merchant": merchant, "quantity": np.broadcast_to(quantity, value.shape),
                 "channel": np.full(len(value), channel), "value_cents": value, "discount_cents": discount,
                 "commission_cents": commission}
        self._chunks.append({k: np.asarray(v, dtype=_DTYPES[k]) for k, v in chunk.items()})
        totals = {"orders": len(value), "gmv_cents": int(value.sum()),
                  "discount_cents": int(discount.sum()), "commission_cents": int(commission.sum()),
                  "cost_cents": int(np.asarray(cost_cents, dtype=np.int64).sum())}
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


PAYMENT_COLUMNS = ("day", "mechanism", "family", "kind", "recipient", "amount_cents")


class PaymentLedger:
    """Campaign cash outlays (rewards, fees, subsidies, commissions), in fen.

    ``recipient`` is a consumer id, or a KOL index for KOL fees (see ``kind``).
    """

    def __init__(self) -> None:
        self._chunks: list[pd.DataFrame] = []
        self.total_cents = 0
        self.by_family: dict[str, int] = {}

    def record(self, day: int, mechanism: str, family: str, kind: str, recipients: np.ndarray,
               amounts_cents: np.ndarray) -> None:
        amounts = np.asarray(amounts_cents, dtype=np.int64)
        if np.any(amounts < 0):
            raise ValueError("payments are >= 0")
        total = int(amounts.sum())
        self.total_cents += total
        self.by_family[family] = self.by_family.get(family, 0) + total
        self._chunks.append(pd.DataFrame({
            "day": np.full(len(amounts), day, dtype=np.int16), "mechanism": mechanism, "family": family,
            "kind": kind, "recipient": np.asarray(recipients, dtype=np.int64), "amount_cents": amounts}))

    def to_frame(self) -> pd.DataFrame:
        if not self._chunks:
            return pd.DataFrame({c: pd.Series(dtype="int64" if c in ("day", "recipient", "amount_cents") else "object")
                                 for c in PAYMENT_COLUMNS})
        return pd.concat(self._chunks, ignore_index=True)
