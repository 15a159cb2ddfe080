"""Reviewing: after delivery a share of buyers rate what they bought, more often the further
their experience is from their expectation (J-shaped reviews: Hu, Pavlou & Zhang 2009); the
platform shows each product's mean stars with a prior and the number of reviews; a product's
rating against the market's mean enters purchase utility, low ratings more than high ones
(Chevalier & Mayzlin 2006), with a weight that grows with the number of reviews. Equations:
docs/model.md (*Reviews and reputation*)."""

from __future__ import annotations

import numpy as np


def review_probability(gap: np.ndarray, review_prob: float, extremity: float) -> np.ndarray:
    """P(a buyer rates) = min(1, r + x |g|), with g the experience gap (realized quality less
    the buyer's satisfaction threshold, quality units)."""
    return np.minimum(1.0, review_prob + extremity * np.abs(gap))


def rated_gap(gap: np.ndarray, satisfied: np.ndarray) -> np.ndarray:
    """The gap a buyer rates by: its own, or just below the threshold (−1e-9) for a buyer
    dissatisfied in spite of the goods (a returned order)."""
    return np.where(satisfied | (gap < 0), gap, -1e-9)


def stars(gap: np.ndarray, extreme_gap: float) -> np.ndarray:
    """Stars given (int8): 5 when g ≥ the extreme gap, 4 when satisfied (g ≥ 0), 2 when
    dissatisfied, 1 when g ≤ −the extreme gap."""
    return np.where(gap >= 0, np.where(gap >= extreme_gap, 5, 4), np.where(gap <= -extreme_gap, 1, 2)).astype(np.int8)


def displayed_rating(star_sum: np.ndarray, count: np.ndarray, prior_rating: float, prior_weight: float) -> np.ndarray:
    """The stars a product shows: (m r₀ + Σ stars) / (m + n), a running mean with a prior
    worth m reviews."""
    return (prior_weight * prior_rating + star_sum) / (prior_weight + count)


def rating_utility(rating: np.ndarray, reference: float, count: np.ndarray, high_weight: float,
                   low_weight: float, count_half: float) -> np.ndarray:
    """The rating's term in purchase utility: n / (n + n½) × (w₊ max(r − r̄, 0) − w₋ max(r̄ − r, 0)),
    r̄ the market's mean rating, n the product's reviews (real users)."""
    weight = count / (count + count_half)
    gap = rating - reference
    return weight * np.where(gap >= 0, high_weight * gap, low_weight * gap)


def attached_share(own: np.ndarray, every: np.ndarray, spillover: float) -> np.ndarray:
    """Friends' word of mouth about a product: the friends talking about its merchant, plus a
    share ``spillover`` of those talking about the other merchants (counts)."""
    return own + spillover * (every - own)
