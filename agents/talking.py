"""Talking and resharing: after a purchase a buyer may promote (satisfied) or warn
(dissatisfied) its friends, for ``market.wom_days`` days. A promoter's first day is also
a post that its friends may reshare onward, as an engaged KOL follower's repost is:
cascades along ties, frontier by frontier (Goel, Anderson, Hofman & Watts 2016: most
are tiny, a few are large). Equations: docs/model.md (*Word of mouth*, *Reshares*)."""

from __future__ import annotations

import numpy as np

from sim.network import row_spans, span_entries


def talk_probability(sharing: np.ndarray, wom_multiplier: float, satisfied: np.ndarray,
                     negative_multiplier: float) -> np.ndarray:
    """s_i × the platform's multiplier, × ``negative_multiplier`` for a dissatisfied buyer,
    capped at 1."""
    share = sharing * wom_multiplier
    return np.where(satisfied, np.minimum(1.0, share), np.minimum(1.0, negative_multiplier * share))


def word_of_mouth(talk: np.ndarray, satisfied: np.ndarray, day: int, wom_days: int) -> tuple[np.ndarray, np.ndarray]:
    """(sign, last day) of each buyer's word of mouth: +1 promoting, −1 warning, 0 silent;
    live through ``day + wom_days`` (−1 when silent)."""
    return np.where(talk, np.where(satisfied, 1, -1), 0), np.where(talk, day + wom_days, -1)


def talking(wom_until: np.ndarray, wom_sign: np.ndarray, day: int) -> tuple[np.ndarray, np.ndarray]:
    """Promoters and warners whose word of mouth is live on ``day``."""
    live = wom_until >= day
    return live & (wom_sign > 0), live & (wom_sign < 0)


def talking_states(promoters: np.ndarray, warners: np.ndarray, merchant: np.ndarray, merchants: int) -> np.ndarray:
    """Each consumer's state of word of mouth as one code: 0 silent, 1 + m promoting
    merchant m, 1 + M + m warning about it (M merchants; int16)."""
    code = np.zeros(len(promoters), dtype=np.int16)
    code[promoters] = 1 + merchant[promoters]
    code[warners] = 1 + merchants + merchant[warners]
    return code


def cascades(indptr: np.ndarray, indices: np.ndarray, origins: np.ndarray, u: np.ndarray, reshare: float,
             decay: float, max_depth: int = 64, scratch: np.ndarray | None = None
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Today's reshare cascades over the friendship CSR (``indptr``, ``indices``).

    Each post of ``origins`` (consumers, one cascade each) reaches all their friends; a
    friend reached at step d reshares with probability ``reshare`` × ``decay`` ^ (d − 1)
    (its uniform ``u``), and its friends are reached at step d + 1. A consumer is reached
    once a day, by the first cascade that gets to it (origins first). Returns (the
    consumers who reshared, each cascade's size: its origin and resharers, each cascade's
    depth: its longest chain of reshares). ``scratch``: a bool array of False, one per
    consumer, that a caller may keep from day to day (it is left all False again).

    With ``decay`` ≤ 1 the probability never grows, so a friend who does not reshare at
    its first reach never will: only resharers need to be remembered as reached, and a
    friend is only looked at further when its ``u`` is below today's first-step chance."""
    n = len(indptr) - 1
    taken = np.zeros(n, dtype=bool) if scratch is None else scratch  # origins and resharers so far
    taken[origins] = True
    may_reshare = u < reshare  # the only friends that can reshare at any step
    touched = [np.asarray(origins)]
    size = np.ones(len(origins), dtype=np.int64)
    depth = np.zeros(len(origins), dtype=np.int64)
    frontier, cascade = np.asarray(origins, dtype=np.int64), np.arange(len(origins))
    for step in range(1, max_depth + 1):
        p = reshare * decay ** (step - 1)
        if not frontier.size or p <= 0:
            break
        starts, lens = row_spans(indptr, frontier)
        gather = span_entries(starts, lens)
        friend = indices[gather]
        hit = np.flatnonzero(may_reshare[friend])
        friend = friend[hit]
        keep = (u[friend] < p) & ~taken[friend]
        friend, hit = friend[keep], hit[keep]
        friend, first = np.unique(friend, return_index=True)  # the first arrival wins
        order = np.sort(first)
        friend = friend[np.argsort(first)]
        of = cascade[np.searchsorted(np.cumsum(lens), hit[order], side="right")]
        taken[friend] = True
        touched.append(friend)
        frontier, cascade = friend, of
        size += np.bincount(cascade, minlength=len(origins))
        depth[cascade] = step
    taken[np.concatenate(touched)] = False
    resharers = touched[1:]
    return (np.concatenate(resharers).astype(np.int64, copy=False) if resharers else np.zeros(0, dtype=np.int64)), size, depth
