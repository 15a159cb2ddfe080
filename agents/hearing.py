"""Hearing of the market: broadcast channels (platform traffic, ads), friends' word of
mouth, and KOL posts. Each consumer who is not yet aware hears with a daily probability;
the source it first heard from shapes whom it trusts (``agents/buying.py``).

Word of mouth counts ties, not shares (Goldenberg, Libai & Muller 2001): every friend
talking today is one more chance to hear, β_s through a strong tie and β_w through a
weak one, so a consumer with many friends talking hears sooner, however many friends it
has. Equations: docs/model.md (*Awareness*, *KOL posts*)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def broadcast_hazard(innovation: float, traffic_multiplier: float, ads_factor: np.ndarray) -> np.ndarray:
    """p_i = p × the platform's traffic multiplier × the consumer's trust in ads relative
    to the mean (probability per day)."""
    return innovation * traffic_multiplier * ads_factor


#: β is held below 1 so that a tie's weight stays finite: β = 1 weighs −ln(10⁻¹²) ≈ 27.6
#: (not hearing from one such friend: probability 10⁻¹²)
MAX_TIE_BETA = 1.0 - 1e-12


def tie_weights(strength: np.ndarray | None, strong_tie: float, weak_tie: float) -> np.ndarray | float:
    """−ln(1 − β) of each tie, β = β_w + s (β_s − β_w) for a tie of strength s in [0, 1]: so
    that Σ over talking ties gives −ln P(not hearing) (a single β_w on the complete graph,
    whose ties are all weak). β is held at most :data:`MAX_TIE_BETA`."""
    beta = weak_tie if strength is None else weak_tie + strength.astype(np.float64) * (strong_tie - weak_tie)
    return -np.log1p(-np.minimum(beta, MAX_TIE_BETA))


def word_of_mouth_hazard(exposure: np.ndarray, friends_factor: np.ndarray) -> np.ndarray:
    """1 − exp(−a^F_i × Σ_j w_ij x_j): the probability of hearing from friends today, with
    ``exposure`` the sum of the talking ties' weights (:func:`tie_weights`) and a^F_i the
    consumer's trust in friends relative to the mean (it scales the exponent: with
    a^F_i = 1 this is 1 − (1 − β_s)^{m_s} (1 − β_w)^{m_w})."""
    return -np.expm1(-friends_factor * exposure)


def hear(u: np.ndarray, broadcast: np.ndarray, word_of_mouth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Who hears today, from each consumer's uniform ``u``: u < 1 − (1 − α_i)(1 − q_i), with
    α_i the broadcast hazard and q_i the friends' (independent channels); and who of them
    heard it from the broadcast channels (``u < α_i``), the others from friends."""
    return u < 1.0 - (1.0 - np.minimum(broadcast, 1.0)) * (1.0 - word_of_mouth), u < broadcast


def engaged_followers(follower_graph: sp.csr_matrix, kols, engagement: np.ndarray,
                      rng: np.random.Generator) -> tuple[np.ndarray, int, int]:
    """A post by each of ``kols`` reaches all its followers; each engages with the KOL's
    ``engagement`` probability. Returns (the consumers who engaged at least once, the
    reach in follower exposures, the engagements)."""
    rows = follower_graph[np.asarray(kols)]
    exposed = rows.indices
    rate = np.repeat(np.asarray(engagement, dtype=np.float64), np.diff(rows.indptr))
    engaged_edges = rng.random(len(exposed)) < rate
    return np.unique(exposed[engaged_edges]), len(exposed), int(engaged_edges.sum())
