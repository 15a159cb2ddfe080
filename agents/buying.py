"""Choosing and buying: a visitor is shown one product (the platform's traffic shares, or
its best match under personalization) and buys it with a logit probability of its utility.
Equations: docs/model.md (*Purchases*)."""

from __future__ import annotations

import numpy as np

from agents.consumers import FRIEND_SOURCES, SOURCE_KOL


def trust_in_source(source: np.ndarray, trust_friends: np.ndarray, trust_kol: np.ndarray, trust_ads: np.ndarray,
                    touched_by_kol_today: np.ndarray, satisfied_last: np.ndarray,
                    same_merchant: np.ndarray | bool = True, experience_spillover: float = 1.0) -> np.ndarray:
    """The trust term of the utility: trust in friends, KOLs or ads by the source the consumer
    first heard from; in KOLs if a KOL touched it today; once it has bought, its own last
    experience (0 or 1) for the merchant it bought from, and for the others that experience
    weighted ``experience_spillover`` against the source's trust."""
    trust = np.where(np.isin(source, FRIEND_SOURCES), trust_friends,
                     np.where(source == SOURCE_KOL, trust_kol, trust_ads))
    trust = np.where(touched_by_kol_today, trust_kol, trust)
    experience = satisfied_last.astype(np.float64)
    other = experience_spillover * experience + (1.0 - experience_spillover) * trust
    return np.where(satisfied_last >= 0, np.where(same_merchant, experience, other), trust)


def purchase_utility(mk, quality: np.ndarray, expectation: np.ndarray, price_sensitivity: np.ndarray,
                     price: np.ndarray, reference_price: float, promoting_share: np.ndarray,
                     warning_share: np.ndarray, trust: np.ndarray, platform_trust: float,
                     utility_shift, rating_term: np.ndarray | float = 0.0) -> np.ndarray:
    """V = b + w_Q (Q_j − e_i) − β_i (P − P_ref)/P_ref + w_S σ⁺_ij − w_N σ⁻_ij + w_T τ_ij + θ + ρ_j + shift,
    with the weights of ``market`` (``mk``) and ρ_j the product's rating term
    (``agents.reviewing.rating_utility``)."""
    return (mk.base_utility
            + mk.quality_weight * (quality - expectation)
            - price_sensitivity * (price - reference_price) / reference_price
            + mk.social_proof_weight * promoting_share
            - mk.negative_wom_weight * warning_share
            + mk.source_trust_weight * trust
            + platform_trust
            + rating_term
            + utility_shift)


def purchase_probability(utility: np.ndarray, cost: np.ndarray, budget: np.ndarray) -> np.ndarray:
    """1 / (1 + e^{−V}), or 0 where the order's cost exceeds the consumer's budget."""
    prob = 1.0 / (1.0 + np.exp(-utility))
    return np.where(cost <= budget, prob, 0.0)


def best_matches(prob: np.ndarray) -> np.ndarray:
    """Each row's product with the highest purchase probability (``prob``: visitors ×
    products), or -1 where the visitor would buy none."""
    return np.where(prob.max(axis=1) > 0, prob.argmax(axis=1), -1)


def product_bought(shown: np.ndarray, prob: np.ndarray, u: np.ndarray) -> np.ndarray:
    """The product of a purchase known to happen (an observed first order): shown product k
    and bought, P(k | buys) ∝ P(shown k) · π_k (Bayes; ``shown``, ``prob``: visitors ×
    products), drawn by inverse CDF at ``u``; a visitor who could buy nothing (every π_k 0)
    takes the product shown, P(shown k)."""
    weight = shown * prob
    weight = np.where(weight.sum(axis=1, keepdims=True) > 0, weight, shown)
    cumulative = np.cumsum(weight, axis=1)
    k = (cumulative < (u * cumulative[:, -1])[:, None]).sum(axis=1)
    return np.minimum(k, weight.shape[1] - 1)
