"""Hearing of the market: broadcast channels (platform traffic, ads), friends' word of
mouth, and KOL posts. Each consumer who is not yet aware hears with a daily probability;
the source it first heard from shapes whom it trusts (``agents/buying.py``).
Equations: docs/model.md (*Awareness*, *KOL posts*)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def broadcast_hazard(innovation: float, traffic_multiplier: float, ads_factor: np.ndarray) -> np.ndarray:
    """p_i = p × the platform's traffic multiplier × the consumer's trust in ads relative
    to the mean (probability per day)."""
    return innovation * traffic_multiplier * ads_factor


def word_of_mouth_hazard(imitation: float, friends_factor: np.ndarray, promoting_share: np.ndarray) -> np.ndarray:
    """q_i = q × trust in friends relative to the mean × the share of friends promoting
    today (probability per day)."""
    return imitation * friends_factor * promoting_share


def hear(u: np.ndarray, broadcast: np.ndarray, word_of_mouth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Who hears today, from each consumer's uniform ``u``: ``u < min(1, p_i + q_i)``; and
    who of them heard it from the broadcast channels (``u < p_i``), the others from friends."""
    return u < np.minimum(1.0, broadcast + word_of_mouth), u < broadcast


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
