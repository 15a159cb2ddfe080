"""Ratings and reviews per product: the stars posted, when they show, and what shows.

A review posted on day d shows from day d + ``reviews.delay_days``. Fake reviews bought
by a merchant are kept apart, so the platform can remove them when it detects them.
Counts are of simulated buyers; the rating's weight in utility counts real users
(``population.represents``).
"""

from __future__ import annotations

import numpy as np

from agents import reviewing
from sim.config import ReviewsConfig


class ProductReviews:
    """Stars and review counts per product (catalogue index), genuine and fake."""

    def __init__(self, products: int, cfg: ReviewsConfig, scale: float = 1.0):
        self.cfg = cfg
        self.scale = scale  # simulated consumers per real user
        self.star_sum = np.zeros(products)  # genuine, shown
        self.count = np.zeros(products, dtype=np.int64)
        self.fake_star_sum = np.zeros(products)
        self.fake_count = np.zeros(products, dtype=np.int64)
        self.posted_today = 0
        self._pending: dict[int, list[tuple[np.ndarray, np.ndarray, bool]]] = {}

    def post(self, day: int, product: np.ndarray, stars: np.ndarray, fake: bool = False) -> None:
        """Reviews written on ``day``: they show from ``day + delay_days``."""
        if len(product):
            self._pending.setdefault(day + self.cfg.delay_days, []).append(
                (np.asarray(product, dtype=np.int64), np.asarray(stars, dtype=np.float64), fake))

    def show(self, day: int) -> None:
        """Add the reviews due on ``day`` to what the platform shows."""
        self.posted_today = 0
        for product, stars, fake in self._pending.pop(day, []):
            size = len(self.count)
            total, count = (self.fake_star_sum, self.fake_count) if fake else (self.star_sum, self.count)
            total += np.bincount(product, weights=stars, minlength=size)
            count += np.bincount(product, minlength=size)
            self.posted_today += len(product)

    def remove_fakes(self, products: np.ndarray) -> int:
        """The platform takes down the fake reviews of ``products``, shown or not yet;
        returns how many."""
        removed = int(self.fake_count[products].sum())
        self.fake_star_sum[products] = 0.0
        self.fake_count[products] = 0
        for entries in self._pending.values():
            for k, (product, stars, fake) in enumerate(entries):
                if fake:
                    keep = ~np.isin(product, products)
                    removed += int((~keep).sum())
                    entries[k] = (product[keep], stars[keep], fake)
        return removed

    @property
    def shown_count(self) -> np.ndarray:
        """Reviews each product shows (genuine and fake, simulated buyers)."""
        return self.count + self.fake_count

    def rating(self) -> np.ndarray:
        """The stars each product shows (``agents.reviewing.displayed_rating``)."""
        c = self.cfg
        return reviewing.displayed_rating(self.star_sum + self.fake_star_sum, self.shown_count,
                                          c.prior_rating, c.prior_weight)

    def utility(self) -> np.ndarray:
        """Each product's rating term in purchase utility, against the market's mean rating."""
        c, rating = self.cfg, self.rating()
        return reviewing.rating_utility(rating, float(rating.mean()), self.shown_count / self.scale,
                                        c.high_rating_weight, c.low_rating_weight, c.count_half)

    def merchant_rating(self, merchant: np.ndarray, merchants: int) -> np.ndarray:
        """Each merchant's rating: its products' stars and prior, pooled."""
        c = self.cfg
        star_sum = np.bincount(merchant, weights=self.star_sum + self.fake_star_sum, minlength=merchants)
        count = np.bincount(merchant, weights=self.shown_count, minlength=merchants)
        products = np.bincount(merchant, minlength=merchants)
        return reviewing.displayed_rating(star_sum, count, c.prior_rating, c.prior_weight * products)

    def merchant_count(self, merchant: np.ndarray, merchants: int) -> np.ndarray:
        return np.bincount(merchant, weights=self.shown_count, minlength=merchants).astype(np.int64)
