"""The classic diffusion laws, each run alone as an exact special case of the market
(``scenario.law``): one class per law, as NDlib lays them out.

Each law answers one question a day: who adopts today, given the day each consumer
adopted (``adopted_day``, −1 for not yet) and today's uniform of every consumer. An
adopter buys once and does nothing else: no broadcast beyond the law's own, no churn,
no word of mouth but the law's. Equations and sources: docs/model.md (*The classic
diffusion laws*).

* :class:`Bass` (1969): p + q × the share of friends who adopted, per day.
* :class:`IndependentCascade` (Kempe, Kleinberg & Tardos 2003): one chance per tie, the
  day after adopting.
* :class:`LinearThreshold` (Granovetter 1978; Kempe et al. 2003): adopt once the share of
  friends who adopted reaches one's threshold.
* :class:`Goldenberg` (Goldenberg, Libai & Muller 2001): advertising plus strong and weak
  ties, each adopter talking for a set number of days.

The cascade and the Goldenberg law share one hazard, 1 − (1 − α) exp(−Σ w), Σ over the
friends talking today of each tie's w = −ln(1 − β): a consumer's chance of not hearing
is the product of its channels' (:func:`tie_hazard_adopters`).
"""

from __future__ import annotations

import numpy as np

from agents.hearing import MAX_TIE_BETA, tie_weights


def seed_consumers(n: int, seed_share: float, seed_ids: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    """Day 1's adopters (consumer indices, sorted): ``seed_ids`` where given, else
    ⌊seed_share × n⌋ consumers drawn without replacement, at least one when
    seed_share > 0 (NDlib's ``fraction_infected`` rule)."""
    if seed_ids is not None and len(seed_ids):
        return np.unique(np.asarray(seed_ids, dtype=np.int64))
    if seed_share <= 0:
        return np.zeros(0, dtype=np.int64)
    count = max(1, int(n * seed_share))
    return np.sort(rng.choice(n, size=count, replace=False))


def tie_hazard_adopters(network, weights, talking: np.ndarray, adopted_day: np.ndarray, u: np.ndarray,
                        innovation: float = 0.0) -> np.ndarray:
    """Who adopts today at hazard 1 − (1 − α) exp(−Σ_j w_ij), Σ over the friends j
    ``talking`` today (a mask), ``weights`` each tie's w = −ln(1 − β) (aligned with the
    adjacency, or one number): consumers not yet adopted with ``u`` below it. With α = 0
    only consumers with a talking friend can adopt, so only they are looked at."""
    exposure = network.weighted_count(talking, weights)
    if innovation > 0:
        candidates = np.flatnonzero(adopted_day < 0)
    else:
        candidates = np.flatnonzero((exposure > 0) & (adopted_day < 0))
    hazard = -np.expm1(np.log1p(-innovation) - exposure[candidates])
    return candidates[u[candidates] < hazard]


class Bass:
    """Bass (1969) on a graph: a consumer who has not adopted adopts with probability
    min(1, p + q F_i) per day, F_i the share of its friends who adopted (on the complete
    graph the share of everyone else: the discrete Bass recurrence). Keys:
    ``diffusion.innovation`` (p), ``diffusion.imitation`` (q)."""

    name = "bass"

    def __init__(self, network, diffusion):
        self.network = network
        self.p, self.q = diffusion.innovation, diffusion.imitation
        self._adopter_friends: np.ndarray | None = None  # friends who adopted, per consumer

    def adopters(self, day: int, adopted_day: np.ndarray, u: np.ndarray) -> np.ndarray:
        net = self.network
        if self._adopter_friends is None:
            self._adopter_friends = net.neighbour_count(adopted_day >= 0)
        candidates = np.flatnonzero(adopted_day < 0)
        share = net.share_of(self._adopter_friends, candidates)
        new = candidates[u[candidates] < np.minimum(1.0, self.p + self.q * share)]
        if len(new):  # adoption is permanent: add today's adopters' ties instead of recounting all
            today = np.zeros(net.n, dtype=bool)
            today[new] = True
            self._adopter_friends += net.neighbour_count(today)
        return new


class IndependentCascade:
    """Independent cascade (Kempe, Kleinberg & Tardos 2003): the seeds adopt on day 1;
    a consumer who adopts on day t gets exactly one chance, on day t + 1, to activate each
    friend who has not adopted, with the tie's probability: ``diffusion.cascade_probability``,
    or the tie's own from a ``network=file`` edge list's ``probability`` column. A consumer
    reached by several new adopters adopts with 1 − Π(1 − p_ij), the same law as one
    trial per tie."""

    name = "cascade"

    def __init__(self, network, diffusion, seeds: np.ndarray):
        self.network, self.seeds = network, seeds
        own = getattr(network, "probability", None)
        if own is not None:  # the file's per-tie probabilities, aligned with the adjacency
            self.weights = -np.log1p(-np.minimum(own.astype(np.float64), MAX_TIE_BETA))
        else:
            p = diffusion.cascade_probability
            self.weights = tie_weights(network.strength, p, p)

    def adopters(self, day: int, adopted_day: np.ndarray, u: np.ndarray) -> np.ndarray:
        if day == 1:
            return self.seeds
        return tie_hazard_adopters(self.network, self.weights, adopted_day == day - 1, adopted_day, u)


class LinearThreshold:
    """Linear threshold (Granovetter 1978; Kempe et al. 2003) with equal weights: the
    seeds adopt on day 1; from day 2 a consumer with friends adopts once the share of
    them who adopted by yesterday reaches its threshold θ_i: ``diffusion.threshold`` for
    everyone, or, where null, drawn uniformly on [0, 1) once per run. Consumers without
    friends never adopt (NDlib's rule)."""

    name = "threshold"

    def __init__(self, network, diffusion, seeds: np.ndarray, rng: np.random.Generator):
        self.network, self.seeds = network, seeds
        n = network.n
        self.threshold = (np.full(n, float(diffusion.threshold)) if diffusion.threshold is not None
                          else rng.random(n))
        self._adopter_friends = np.zeros(n)
        self._has_friends = network.degree > 0

    def adopters(self, day: int, adopted_day: np.ndarray, u: np.ndarray) -> np.ndarray:
        if day == 1:
            return self.seeds
        net = self.network
        yesterday = adopted_day == day - 1
        if yesterday.any():
            self._adopter_friends += net.neighbour_count(yesterday)
        candidates = np.flatnonzero((adopted_day < 0) & self._has_friends)
        share = net.share_of(self._adopter_friends, candidates)
        return candidates[share >= self.threshold[candidates]]


class Goldenberg:
    """Goldenberg, Libai & Muller (2001): a consumer who has not adopted adopts with
    1 − (1 − α)(1 − β_w)^{m_w}(1 − β_s)^{m_s} per day, m_w and m_s its weak and strong
    friends talking today: those who adopted in the last ``diffusion.talking_days`` days.
    α = ``diffusion.innovation``, β_s = ``diffusion.strong_tie``, β_w = ``diffusion.weak_tie``
    (a tie of strength s in [0, 1]: β_w + s(β_s − β_w)). The seeds adopt on day 1. With
    one talking day and α = 0 it is :class:`IndependentCascade` with p = β."""

    name = "goldenberg"

    def __init__(self, network, diffusion, seeds: np.ndarray):
        self.network, self.seeds = network, seeds
        self.innovation, self.talking_days = diffusion.innovation, diffusion.talking_days
        self.weights = tie_weights(network.strength, diffusion.strong_tie, diffusion.weak_tie)

    def adopters(self, day: int, adopted_day: np.ndarray, u: np.ndarray) -> np.ndarray:
        talking = adopted_day >= max(1, day - self.talking_days)  # today's adopters are not booked yet
        new = tie_hazard_adopters(self.network, self.weights, talking, adopted_day, u, self.innovation)
        if day == 1 and len(self.seeds):
            new = np.union1d(new, self.seeds)
        return new
