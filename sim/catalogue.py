"""The product catalogue: one row per product, prices in integer cents. Drawn from the
market's distributions (``catalogue=generated``) or read from the merchant's own products
(``catalogue=file catalogue.path=...``, :meth:`Catalogue.load`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.config import MarketConfig
from sim.distributions import draw
from sim.errors import ConfigError
from sim.tables import read_table

#: Columns of a catalogue file; ``quality`` is optional.
FILE_COLUMNS = ("product_id", "merchant", "price", "unit_cost")


@dataclass(eq=False)
class Catalogue:
    """Products as arrays. Money is held in integer cents (fen) so sums are exact."""

    merchant: np.ndarray  # int32, owning merchant of each product
    list_price_cents: np.ndarray  # int64, list price (fen)
    unit_cost_cents: np.ndarray  # int64, unit cost (fen)
    quality: np.ndarray  # float64 in [0, 1], mean realized quality
    product_ids: np.ndarray | None = None  # the file's product ids (catalogue=file), else None: ids are 0..n-1
    merchant_ids: np.ndarray | None = None  # the file's merchant of each merchant index 0..m-1

    @property
    def merchants(self) -> int:
        """Merchants owning the products (indices 0..merchants-1)."""
        return int(self.merchant.max()) + 1 if self.size else 0

    @property
    def size(self) -> int:
        return len(self.merchant)

    @property
    def list_price(self) -> np.ndarray:
        """List prices in yuan."""
        return self.list_price_cents / 100.0

    @property
    def reference_price(self) -> float:
        """The consumers' reference price (yuan): the mean list price of the catalogue."""
        return float(self.list_price.mean())

    @classmethod
    def generate(cls, cfg: MarketConfig, rng: np.random.Generator) -> "Catalogue":
        n = cfg.merchants * cfg.products_per_merchant
        merchant = np.repeat(np.arange(cfg.merchants, dtype=np.int32), cfg.products_per_merchant)
        price = np.maximum(np.round(draw(cfg.list_price, n, rng) * 100), 1).astype(np.int64)
        cost = np.round(price * cfg.unit_cost_share).astype(np.int64)
        quality = np.clip(draw(cfg.quality, n, rng), 0.0, 1.0)
        return cls(merchant=merchant, list_price_cents=price, unit_cost_cents=cost, quality=quality)

    @classmethod
    def load(cls, path: str | Path, cfg: MarketConfig, rng: np.random.Generator) -> "Catalogue":
        """The products of a .csv or .parquet file: ``product_id, merchant, price,
        unit_cost`` (yuan) and optional ``quality`` in [0, 1] (else drawn from
        ``market.quality`` with ``rng``). Merchants are numbered in sorted order of their
        ids. ConfigError naming ``catalogue.path``, the column and the row otherwise."""
        import pandas as pd

        frame = read_table(path, "catalogue.path", "products: .csv or .parquet with " + ", ".join(FILE_COLUMNS))
        missing = [c for c in FILE_COLUMNS if c not in frame.columns]
        if missing:
            raise ConfigError("catalogue.path", str(path), f"no column {missing[0]!r} (needs "
                              f"{', '.join(FILE_COLUMNS)}; optional quality)")
        if not len(frame):
            raise ConfigError("catalogue.path", str(path), "holds no products")
        if frame["product_id"].duplicated().any():
            row = int(np.flatnonzero(frame["product_id"].duplicated().to_numpy())[0]) + 1
            raise ConfigError("catalogue.path", str(path), f"row {row}: product_id {frame['product_id'].iat[row - 1]!r} "
                                                           "repeats")
        checks = [("price", lambda v: v > 0, "a price > 0 yuan"), ("unit_cost", lambda v: v >= 0, "a unit cost >= 0 yuan")]
        if "quality" in frame.columns:
            checks.append(("quality", lambda v: (v >= 0) & (v <= 1), "a quality in [0, 1]"))
        values = {}
        for col, ok, what in checks:
            v = pd.to_numeric(frame[col], errors="coerce").to_numpy(float)
            bad = ~(np.isfinite(v) & ok(v))
            if bad.any():
                row = int(np.flatnonzero(bad)[0])
                raise ConfigError("catalogue.path", str(path), f"row {row + 1}: {col}={frame[col].tolist()[row]!r} is not {what}")
            values[col] = v
        merchant_ids, merchant = np.unique(frame["merchant"].astype(str).to_numpy(), return_inverse=True)
        price = np.maximum(np.round(values["price"] * 100), 1).astype(np.int64)
        quality = values["quality"] if "quality" in values else np.clip(draw(cfg.quality, len(frame), rng), 0.0, 1.0)
        return cls(merchant=merchant.astype(np.int32), list_price_cents=price,
                   unit_cost_cents=np.round(values["unit_cost"] * 100).astype(np.int64), quality=quality,
                   product_ids=frame["product_id"].to_numpy(), merchant_ids=merchant_ids)
