"""The order ledger: every order placed, with its money split, in integer cents.

For each order: ``value`` (list price, the GMV it adds), ``discount`` (borne by
the campaign), ``paid = value - discount``, ``commission = round(rate * paid)``
to the platform, and ``merchant_revenue = paid - commission``. Hence, to the
cent: merchant revenue + platform commission + discounts = GMV.

Refunds (:meth:`OrderLedger.refund`) are a second journal on the same orders, booked on
the day they happen: a returned order is refunded in full — the buyer gets back what it
paid, the merchant gives back its revenue and the platform its commission, the goods go
back to the merchant's stock (cost of goods recovered) — and its discount is not
recovered (the campaign spent it). Hence, to the fen, over the returned orders:
refund = merchant revenue reversed + commission reversed, and refunded value = refund +
their discounts; net GMV = GMV − refunded value. GMV itself stays gross.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

COLUMNS = ("day", "consumer", "product", "merchant", "quantity", "channel", "sales_channel", "value_cents",
           "discount_cents", "commission_cents")
_DTYPES = {"day": np.int16, "consumer": np.int32, "product": np.int32, "merchant": np.int32,
           "quantity": np.int16, "channel": np.int16, "sales_channel": np.int8, "value_cents": np.int32,
           "discount_cents": np.int32, "commission_cents": np.int32}
#: Columns of the refund journal: the order's row in the ledger, the refund day, the amounts (fen).
REFUND_COLUMNS = ("row", "day", "refund_cents", "value_cents", "discount_cents", "commission_cents", "cost_cents")


class OrderLedger:
    """Append-only, one chunk of arrays per day; totals kept as exact integers."""

    def __init__(self) -> None:
        self._chunks: list[dict[str, np.ndarray]] = []
        self.n_orders = 0
        self.gmv_cents = 0
        self.discount_cents = 0
        self.commission_cents = 0
        self.cost_cents = 0
        self._starts = [0]  # first row of each chunk, and the row after the last
        self._refunds: list[dict[str, np.ndarray]] = []
        self.refunded = dict.fromkeys(REFUND_COLUMNS[2:], 0)  # refund totals (fen)
        self.n_returns = 0

    def record(self, day: int, consumer: np.ndarray, product: np.ndarray, merchant: np.ndarray,
               value_cents: np.ndarray, discount_cents: np.ndarray, commission_rate: float,
               cost_cents: np.ndarray, quantity: np.ndarray | int = 1, channel: int = 0,
               sales_channel: np.ndarray | int = 0) -> tuple[dict[str, int], np.ndarray]:
        """Add orders; returns their totals in cents and each order's commission.

        ``cost_cents``: cost of the goods of each order; ``channel``: 0 for a solo
        order, 1 + the mechanism index for orders a campaign mechanism created;
        ``sales_channel``: the code of the channel the order was sold through, its
        position in ``sim.config.RETURN_CHANNELS`` (its return probability)."""
        value = np.asarray(value_cents, dtype=np.int64)
        discount = np.asarray(discount_cents, dtype=np.int64)
        if np.any(discount < 0) or np.any(discount > value):
            raise ValueError("a discount must lie between 0 and the order value")
        commission = np.round((value - discount) * commission_rate).astype(np.int64)
        chunk = {"day": np.full(len(value), day), "consumer": consumer, "product": product,
                 "merchant": merchant, "quantity": np.broadcast_to(quantity, value.shape),
                 "channel": np.full(len(value), channel),
                 "sales_channel": np.broadcast_to(sales_channel, value.shape), "value_cents": value,
                 "discount_cents": discount, "commission_cents": commission}
        self._chunks.append({k: np.asarray(v, dtype=_DTYPES[k]) for k, v in chunk.items()})
        self._starts.append(self._starts[-1] + len(value))
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

    # ------------------------------------------------------------------ refunds
    @property
    def n_rows(self) -> int:
        return self._starts[-1]

    def gather(self, name: str, rows: np.ndarray) -> np.ndarray:
        """Column ``name`` of orders ``rows`` (ledger row numbers), as int64, in the order given."""
        rows = np.asarray(rows, dtype=np.int64)
        out = np.zeros(len(rows), dtype=np.int64)
        if not len(rows):
            return out
        if rows.min() < 0 or rows.max() >= self.n_rows:
            raise IndexError("no such order in the ledger")
        chunk = np.searchsorted(self._starts, rows, side="right") - 1
        for k in np.unique(chunk):  # the chunks of a day or two, not every order
            mine = chunk == k
            out[mine] = self._chunks[k][name][rows[mine] - self._starts[k]]
        return out

    def refund(self, day: int, rows: np.ndarray,
               unit_cost_cents: np.ndarray) -> tuple[dict[str, int], dict[str, np.ndarray]]:
        """Refund orders ``rows`` on ``day`` in full (the rule in the module's docstring);
        ``unit_cost_cents``: the catalogue's unit costs (the goods come back). Returns the
        day's refund totals (fen): ``returns``, ``refund_cents`` (paid back to buyers),
        ``value_cents`` (their GMV), ``discount_cents`` (not recovered), ``commission_cents``
        (given back by the platform) and ``cost_cents`` (goods back in stock); and the
        journal entry, per order (``REFUND_COLUMNS``)."""
        rows = np.asarray(rows, dtype=np.int64)
        if len(np.unique(rows)) != len(rows):
            raise ValueError("an order is refunded at most once")
        value, discount = self.gather("value_cents", rows), self.gather("discount_cents", rows)
        cost = np.asarray(unit_cost_cents, dtype=np.int64)[self.gather("product", rows)] * self.gather("quantity", rows)
        entry = {"row": rows, "day": np.full(len(rows), day, dtype=np.int64), "refund_cents": value - discount,
                 "value_cents": value, "discount_cents": discount,
                 "commission_cents": self.gather("commission_cents", rows), "cost_cents": cost}
        self._refunds.append(entry)
        totals = {k: int(entry[k].sum()) for k in REFUND_COLUMNS[2:]}
        for k, v in totals.items():
            self.refunded[k] += v
        self.n_returns += len(rows)
        return {"returns": len(rows), **totals}, entry

    def refunds(self) -> dict[str, np.ndarray]:
        """The refund journal: one entry per refunded order (``REFUND_COLUMNS``, int64)."""
        if not self._refunds:
            return {k: np.zeros(0, dtype=np.int64) for k in REFUND_COLUMNS}
        return {k: np.concatenate([r[k] for r in self._refunds]) for k in REFUND_COLUMNS}

    @property
    def net_gmv_cents(self) -> int:
        """GMV less the value of the refunded orders (fen)."""
        return self.gmv_cents - self.refunded["value_cents"]

    @property
    def net_merchant_revenue_cents(self) -> int:
        """Merchant revenue less what the merchants gave back (refunds less the commission returned)."""
        return self.merchant_revenue_cents - (self.refunded["refund_cents"] - self.refunded["commission_cents"])

    @property
    def net_commission_cents(self) -> int:
        return self.commission_cents - self.refunded["commission_cents"]

    @property
    def net_cost_cents(self) -> int:
        """Cost of the goods sold and kept (returned goods go back to stock)."""
        return self.cost_cents - self.refunded["cost_cents"]

    def column(self, name: str) -> np.ndarray:
        if not self._chunks:
            return np.zeros(0, dtype=_DTYPES[name])
        return np.concatenate([c[name] for c in self._chunks])

    def to_frame(self) -> pd.DataFrame:
        """All orders, one row each, with ``merchant_revenue_cents`` derived and, from the
        refund journal, ``refund_cents`` (paid back, 0 if kept) and ``refund_day`` (-1 if kept)."""
        frame = pd.DataFrame({name: self.column(name) for name in COLUMNS})
        frame["merchant_revenue_cents"] = (frame["value_cents"].astype(np.int64)
                                           - frame["discount_cents"] - frame["commission_cents"])
        refunds = self.refunds()
        refund = np.zeros(len(frame), dtype=np.int64)
        refund_day = np.full(len(frame), -1, dtype=np.int16)
        refund[refunds["row"]] = refunds["refund_cents"]
        refund_day[refunds["row"]] = refunds["day"]
        frame["refund_cents"] = refund
        frame["refund_day"] = refund_day
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
