"""The consumers' friendship network and the KOLs' follower edges.

Everything is vectorized numpy/scipy (no Python loop per consumer or per tie),
except ``holme_kim``, which calls networkx. All randomness comes from the
``numpy.random.Generator`` passed in (networkx gets ``seed=int(rng.integers(2**31))``),
so the same seed gives the same graph, bit for bit.

Units: a *tie* is an undirected friendship between two distinct consumers;
degree = ties (friends) per consumer; ``mean_degree`` = 2 x ties / consumers.

Generators (``NetworkConfig.kind``), with k = ``network.mean_degree``:

* ``barabasi_albert``: preferential attachment, each new consumer brings
  ``m = k/2`` ties (Batagelj-Brandes endpoint list, pointer-jumping resolution).
* ``watts_strogatz``: ring lattice with k/2 neighbours each side, each tie's far
  end rewired to a uniform consumer with probability ``rewire_prob``.
* ``erdos_renyi``: G(n, M), M = round(n k / 2) distinct uniform pairs.
* ``holme_kim``: ``networkx.powerlaw_cluster_graph`` (slow above ~10^5 consumers).
* ``sbm``: stochastic block model, round(n / ``community_size``) equal contiguous blocks
  (the communities' size, not their number, is fixed: the same structure at any n), a share
  ``mixing`` of the ties between blocks.
* ``complete``: everyone is everyone's friend; the adjacency is never materialized.
* ``file``: an edge list (.csv, .parquet) or a .graphml file, see :func:`load_network_file`.

Every tie has a **strength** in [0, 1] (``SocialNetwork.strength``, aligned with the
adjacency's entries; 1 strong, 0 weak), drawn with the graph so that its meaning does
not drift with n: ``sbm`` ties inside a community are strong and ties between
communities weak; ``holme_kim`` triangle-closing ties are strong and attachment ties
weak; for ``barabasi_albert``, ``watts_strogatz`` and ``erdos_renyi`` a share
``network.strong_share`` of the ties is strong, embedded ties first where the generator
makes them (the unrewired lattice ties of ``watts_strogatz``); ``file`` reads an optional
``strength`` column (``strong``/``weak`` or a number in [0, 1]), else as the generators
without structure; on the ``complete`` graph every tie is weak.

Self-loops and repeated ties are always dropped; where a generator's draws can
collide, ``erdos_renyi``, ``sbm`` and the follower graph top the draws up until
the target count of distinct ties is reached, while ``barabasi_albert`` and
``watts_strogatz`` accept the small loss (realized mean degree slightly below k).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, NamedTuple

import numpy as np
import scipy.sparse as sp

from sim.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from sim.config import KOLConfig, NetworkConfig

__all__ = [
    "NETWORKS",
    "NETWORK_KINDS",
    "SocialNetwork",
    "build_network",
    "load_network_file",
    "build_follower_graph",
    "row_spans",
    "span_entries",
]

FILE_SUFFIXES = (".csv", ".parquet", ".graphml", ".xml")
_EXPECTED = "expected an edge list .csv/.parquet with integer columns source,target, or a .graphml file"


# --------------------------------------------------------------------------- the network
@dataclass(eq=False)
class SocialNetwork:
    """The friendship graph between ``n`` consumers (indices 0..n-1).

    ``adjacency`` is a symmetric 0/1 CSR matrix (float32 data, int32 indices and
    indptr, sorted indices, no self-loops, no duplicates), or ``None`` for the
    complete graph, which is never materialized. ``strength`` is each adjacency
    entry's tie strength in [0, 1] (float32, the same for both directions; None on
    the complete graph: every tie weak). ``degree`` is friends per consumer
    (int32). ``community`` is the sbm block of each consumer; ``node_ids`` maps
    index -> original node id for networks read from a file.
    """

    n: int
    kind: str
    adjacency: sp.csr_matrix | None
    degree: np.ndarray
    community: np.ndarray | None = None
    node_ids: np.ndarray | None = None
    strength: np.ndarray | None = None
    #: each adjacency entry's activation probability, from an edge list's ``probability``
    #: column (the independent cascade's own per tie); None where the file has none
    probability: np.ndarray | None = None
    #: (weights, the adjacency weighted by them) for :meth:`weighted_count`'s mat-vec, kept
    _weighted: tuple | None = field(default=None, repr=False)

    @classmethod
    def from_edges(cls, src, dst, n: int, kind: str = "edges", strength=None, **extra) -> "SocialNetwork":
        """A network on ``n`` consumers from tie end-point arrays (symmetrized, deduplicated,
        self-loops dropped); ``strength`` per tie (0/1 or in [0, 1]; a repeated tie keeps
        its strongest), default all weak."""
        adj, tie_strength = _csr_from_edges(src, dst, n, strength)
        return cls(n=int(n), kind=kind, adjacency=adj, degree=_degree(adj), strength=tie_strength, **extra)

    @property
    def strong_share(self) -> float:
        """Mean tie strength (the share of strong ties, for 0/1 strengths)."""
        return 0.0 if self.strength is None or not self.strength.size else float(self.strength.mean())

    @property
    def n_edges(self) -> int:
        """Undirected ties."""
        if self.adjacency is None:
            return self.n * (self.n - 1) // 2
        return int(self.adjacency.nnz) // 2

    @property
    def mean_degree(self) -> float:
        """Mean friends per consumer, 2 x ties / n."""
        return 2.0 * self.n_edges / self.n

    @functools.cached_property
    def _safe_degree(self) -> np.ndarray:
        # degree as float64 with 0 -> 1: an isolated consumer's count is 0, so its share is 0
        return np.maximum(self.degree, 1).astype(np.float64)

    def _check(self, values) -> np.ndarray:
        v = np.asarray(values)
        if v.ndim not in (1, 2) or v.shape[0] != self.n:
            raise ValueError(f"values must have shape ({self.n},) or ({self.n}, k); got {v.shape}")
        return v

    def neighbour_count(self, values) -> np.ndarray:
        """Sum of ``values`` over each consumer's friends (self excluded), float64.

        ``values`` is (n,) bool/number or (n, k). One CSR mat-vec in float32 (exact
        for 0/1 masks and integers below 2**24); the complete graph uses
        column totals minus the consumer's own value.
        """
        v = self._check(values)
        if self.adjacency is None:
            vf = v.astype(np.float64)
            return vf.sum(axis=0) - vf
        if v.dtype == bool:
            if v.ndim == 1:
                return self._mask_count(v)
            return np.column_stack([self._mask_count(v[:, k]) for k in range(v.shape[1])])
        out = self.adjacency @ v.astype(np.float32, copy=False)
        return np.asarray(out, dtype=np.float64)

    def _mask_count(self, mask: np.ndarray) -> np.ndarray:
        """Friends in ``mask`` per consumer. When the mask's consumers hold few of the
        ties (the usual case: today's talkers), push from their rows (a bincount of
        their friends, O(their ties)) instead of a mat-vec over every tie; the
        adjacency is symmetric, so both give the same exact counts."""
        starts, lens = row_spans(self.adjacency.indptr, np.flatnonzero(mask))
        if int(lens.sum()) > self.adjacency.nnz // 4:
            out = self.adjacency @ mask.astype(np.float32)
            return np.asarray(out, dtype=np.float64)
        gather = span_entries(starts, lens)
        return np.bincount(self.adjacency.indices[gather], minlength=self.n).astype(np.float64)

    def weighted_count(self, mask: np.ndarray, weights: np.ndarray | float, idx: np.ndarray | None = None
                       ) -> np.ndarray:
        """Σ_j weights_ij over each consumer's friends j in ``mask`` (float64), for every
        consumer or only those of ``idx``: ``weights`` aligned with the adjacency's entries
        (symmetric), or one number for every tie (the only form on the complete graph).
        Pulled from the rows of ``idx`` when they hold under a quarter of the ties; else
        pushed from the mask's rows when they hold few of the ties, as
        :meth:`neighbour_count`, or a mat-vec."""
        if self.adjacency is None or np.isscalar(weights):
            counts = float(weights) * self.neighbour_count(mask)
            return counts if idx is None else counts[idx]
        indptr = self.adjacency.indptr
        if idx is not None:
            starts, lens = row_spans(indptr, idx)
            if int(lens.sum()) >= self.adjacency.nnz // 4:  # many asked for: push (or a mat-vec) for all
                return self.weighted_count(mask, weights)[idx]
            gather = span_entries(starts, lens)
            talking_tie = mask[self.adjacency.indices[gather]]
            owner = np.repeat(np.arange(len(idx)), lens)
            return np.bincount(owner[talking_tie], weights=weights[gather[talking_tie]], minlength=len(idx))
        starts, lens = row_spans(indptr, np.flatnonzero(mask))
        if int(lens.sum()) > self.adjacency.nnz // 4:
            if self._weighted is None or self._weighted[0] is not weights:  # built once per weights array
                self._weighted = (weights, sp.csr_matrix((weights, self.adjacency.indices, indptr),
                                                         shape=self.adjacency.shape))
            return np.asarray(self._weighted[1] @ mask.astype(weights.dtype), dtype=np.float64)
        gather = span_entries(starts, lens)
        return np.bincount(self.adjacency.indices[gather], weights=weights[gather], minlength=self.n)

    def share_of(self, counts: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """``counts[idx]`` (friends in some state) as a share of the friends of consumers ``idx``."""
        if self.adjacency is None:
            return counts[idx] / (self.n - 1)
        return counts[idx] / self._safe_degree[idx]

    def neighbour_share(self, values) -> np.ndarray:
        """``neighbour_count / degree`` (0 for consumers without friends), float64.

        For a 0/1 mask: the share of a consumer's friends in the mask.
        """
        count = self.neighbour_count(values)
        if self.adjacency is None:
            return count / (self.n - 1)
        deg = self._safe_degree
        return count / (deg if count.ndim == 1 else deg[:, None])


class FriendsInStates:
    """How many of each consumer's friends are in each of k disjoint states (promoting,
    warning), kept from day to day: :meth:`update` pushes −1 from the consumers who left
    a state and +1 from those who entered one, along their ties, so a day costs the ties
    of the consumers whose state changed, not those of everyone in a state. The counts
    are exact integers, the same as counting afresh."""

    def __init__(self, network: SocialNetwork, states: int):
        self.network = network
        self.state = np.zeros(network.n, dtype=np.int8 if states < 128 else np.int16)  # 0: in none; k: in the k-th
        #: (n, states): a consumer's counts side by side, so one consumer's are one cache line
        self.counts = np.zeros((network.n, states), dtype=np.int32 if network.adjacency is not None else np.float64)

    def update(self, *masks: np.ndarray) -> None:
        """Today's states, one disjoint 0/1 mask per state."""
        state = np.zeros(self.network.n, dtype=self.state.dtype)
        for k, mask in enumerate(masks):
            state[mask] = k + 1
        self.set_states(state)

    def set_states(self, state: np.ndarray) -> None:
        """Today's states as one array: 0 in none, k in the k-th (int8 or int16)."""
        net = self.network
        if net.adjacency is None:  # complete graph: column totals
            self.counts = np.column_stack([net.neighbour_count(state == k + 1) for k in range(self.counts.shape[1])])
        else:
            changed = np.flatnonzero(state != self.state)
            flat = self.counts.reshape(-1)
            for codes, sign in ((self.state, -1), (state, 1)):
                rows = changed[codes[changed] > 0]
                starts, lens = row_spans(net.adjacency.indptr, rows)
                gather = span_entries(starts, lens)
                at = (net.adjacency.indices[gather].astype(np.int64) * self.counts.shape[1]
                      + np.repeat(codes[rows].astype(np.int64) - 1, lens))
                np.add.at(flat, at, np.int32(sign))  # an int32 value: numpy's fast path
        self.state = state

    def per_friend(self, counts: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """Counts of friends of consumers ``idx`` (aligned with ``idx``) as shares of their friends."""
        if self.network.adjacency is None:
            return counts / (self.network.n - 1)
        return counts / self.network._safe_degree[idx]

    def shares(self, idx: np.ndarray) -> list[np.ndarray]:
        """The share of the friends of consumers ``idx`` in each state (float64)."""
        return [self.network.share_of(counts, idx) for counts in self.counts.T]


# --------------------------------------------------------------------------- helpers
def row_spans(indptr: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each of ``rows`` starts among a CSR matrix's entries (int64), and how many
    entries it has."""
    starts = indptr[rows].astype(np.int64)
    return starts, indptr[rows + 1] - starts


def span_entries(starts: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """The positions of the entries of those rows, row after row: the concatenation of
    ``range(start, start + len)``, vectorized."""
    return np.repeat(starts - (np.cumsum(lens) - lens), lens) + np.arange(int(lens.sum()))


def _degree(adj: sp.csr_matrix) -> np.ndarray:
    return np.diff(adj.indptr).astype(np.int32)


def _csr_from_edges(src, dst, n: int, strength=None) -> tuple[sp.csr_matrix, np.ndarray]:
    """Symmetric 0/1 CSR (n, n) from tie end points: both directions, self-loops
    and duplicates dropped, float32 data, int32 indices/indptr, sorted indices; and the
    tie strengths aligned with its entries (0 where not given; a repeated tie keeps its
    strongest)."""
    src = np.asarray(src).ravel()
    dst = np.asarray(dst).ravel()
    keep = src != dst
    idx = np.int32 if n < 2**31 else np.int64
    rows = np.concatenate([src[keep], dst[keep]]).astype(idx, copy=False)
    cols = np.concatenate([dst[keep], src[keep]]).astype(idx, copy=False)
    if strength is None:
        data = np.ones(rows.size, np.float32)
    else:  # strong 2048, weak 1, a fraction s 1 + s/2: a repeated tie's sum tells whether one was strong
        s = np.clip(np.broadcast_to(np.asarray(strength, np.float32), src.shape)[keep], 0.0, 1.0)
        s = np.concatenate([s, s])
        data = np.where(s >= 1.0, np.float32(2048.0), 1.0 + s / 2.0).astype(np.float32)
    del keep
    # COO -> CSR is a counting sort by row, then per-row sort and duplicate summing (C++).
    adj = sp.coo_matrix((data, (rows, cols)), shape=(n, n)).tocsr()
    del rows, cols, data
    adj.sum_duplicates()
    if strength is None:
        tie_strength = np.zeros(adj.nnz, np.float32)
    else:  # fractional strengths come deduplicated (load_network_file); repeated weak ties sum to >= 2
        v = adj.data
        tie_strength = np.where(v >= 2048.0, 1.0, np.where(v < 1.5, 2.0 * (v - 1.0), 0.0)).astype(np.float32)
    adj.data[:] = 1.0
    return _as_int32(adj), tie_strength


def _as_int32(adj: sp.csr_matrix) -> sp.csr_matrix:
    if adj.nnz < 2**31 and max(adj.shape) < 2**31:
        if adj.indices.dtype != np.int32 or adj.indptr.dtype != np.int32:
            adj.indices = adj.indices.astype(np.int32)
            adj.indptr = adj.indptr.astype(np.int32)
    adj.has_sorted_indices = True
    adj.has_canonical_format = True
    return adj


def _csr_rows(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """0/1 CSR from (row, col) pairs already sorted by row then col, no duplicates."""
    indptr = np.zeros(shape[0] + 1, np.int64)
    np.cumsum(np.bincount(rows, minlength=shape[0]), out=indptr[1:])
    idx = np.int32 if rows.size < 2**31 and max(shape) < 2**31 else np.int64
    adj = sp.csr_matrix(
        (np.ones(rows.size, np.float32), cols.astype(idx), indptr.astype(idx)), shape=shape
    )
    return _as_int32(adj)


def _sample_unique(
    draw: Callable[[np.ndarray], np.ndarray],
    group_of: Callable[[np.ndarray], np.ndarray],
    target: np.ndarray,
    capacity: np.ndarray,
    rng: np.random.Generator,
    max_rounds: int = 200,
) -> np.ndarray:
    """Distinct int64 keys, ``target[g]`` of them in each group g (at most ``capacity[g]``).

    ``draw(d)`` returns ``d[g]`` random keys for each group (``-1`` for a rejected
    draw such as a self-loop); ``group_of(keys)`` gives their groups. Rounds of
    draws are deduplicated and topped up, with ``need x capacity / missing`` draws
    per group so that each round expects to fill the deficit; where a round
    overshoots, a uniformly random subset of its new keys is kept. Returns the
    sorted keys.
    """
    target = np.minimum(np.asarray(target, np.int64), np.asarray(capacity, np.int64))
    capacity = np.asarray(capacity, np.float64)
    n_groups = target.size
    have = np.zeros(n_groups, np.int64)
    seen = np.empty(0, np.int64)
    for _ in range(max_rounds):
        need = target - have
        if not (need > 0).any():
            break
        missing = np.maximum(capacity - have, 1.0)
        d = np.where(need > 0, np.ceil(need * (capacity / missing)), 0).astype(np.int64)
        keys = np.asarray(draw(d), np.int64)
        keys = np.sort(keys[keys >= 0])
        if keys.size:
            keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]
        if seen.size and keys.size:
            pos = np.searchsorted(seen, keys)
            pos[pos == seen.size] = 0
            keys = keys[seen[pos] != keys]
        groups = group_of(keys)
        counts = np.bincount(groups, minlength=n_groups)
        if (counts > need).any():  # keep a uniformly random subset of `need` per group
            order = np.lexsort((rng.random(keys.size), groups))
            g_sorted = groups[order]
            start = np.searchsorted(g_sorted, np.arange(n_groups))
            rank = np.arange(keys.size) - start[g_sorted]
            keys = np.sort(keys[order[rank < need[g_sorted]]])
            counts = np.bincount(group_of(keys), minlength=n_groups)
        have += counts
        seen = np.sort(np.concatenate([seen, keys]), kind="stable")  # merge of two sorted runs
    return seen


def _split_fraction(x: float, size: int, rng: np.random.Generator) -> np.ndarray:
    """Integer counts with mean ``x``: floor(x) + Bernoulli(frac(x)) for each of ``size`` items."""
    lo = math.floor(x)
    frac = x - lo
    if frac <= 1e-12:
        return np.full(size, lo, np.int64)
    return lo + (rng.random(size) < frac).astype(np.int64)


# --------------------------------------------------------------------------- generators
def _barabasi_albert(n: int, k: float, rng: np.random.Generator) -> np.ndarray:
    """Edges (2, E) of preferential attachment, m = max(1, k/2) ties per new consumer.

    Batagelj-Brandes: the endpoint list M holds, for tie e, its source (the new
    consumer) at 2e and its target at 2e+1; the target is M[r] with r uniform on
    [0, 2e]. All r are drawn at once; odd r point to an earlier target, resolved
    by vectorized pointer jumping (O(log n) rounds). A non-integer k/2 gives each
    consumer floor(k/2) or floor(k/2)+1 ties (mean k/2). Self-loops and multi-ties
    (from the first consumers mostly) are dropped, so the realized mean degree is
    slightly below 2m.
    """
    m_each = _split_fraction(max(1.0, k / 2.0), n, rng)
    src = np.repeat(np.arange(n, dtype=np.int64), m_each)
    n_ties = src.size
    pos = np.floor(rng.random(n_ties) * (2.0 * np.arange(n_ties) + 1.0)).astype(np.int64)
    np.minimum(pos, 2 * np.arange(n_ties), out=pos)
    tgt = np.empty(n_ties, np.int64)
    is_src = (pos & 1) == 0
    tgt[is_src] = src[pos[is_src] >> 1]
    resolved = is_src
    ptr = pos >> 1  # for odd positions: the earlier tie whose target this one copies
    del pos
    pending = np.flatnonzero(~resolved)
    while pending.size:
        p = ptr[pending]
        ok = resolved[p]
        done = pending[ok]
        tgt[done] = tgt[p[ok]]
        resolved[done] = True
        pending = pending[~ok]
        ptr[pending] = ptr[p[~ok]]  # jump: point to what the pointee points to
    return np.stack([src, tgt])


def _watts_strogatz(n: int, k: float, p: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Ring lattice (each consumer tied to the next k/2 around the ring; a non-integer
    k/2 adds the tie at distance floor(k/2)+1 with probability frac(k/2)), then each
    tie's far end replaced by a uniform consumer with probability ``p``. Returns (edges,
    which ties were rewired)."""
    h = math.floor(k / 2.0)
    frac = k / 2.0 - h
    src = np.repeat(np.arange(n, dtype=np.int64), h)
    dst = (src + np.tile(np.arange(1, h + 1, dtype=np.int64), n)) % n
    if frac > 1e-12:
        extra = np.flatnonzero(rng.random(n) < frac).astype(np.int64)
        src = np.concatenate([src, extra])
        dst = np.concatenate([dst, (extra + h + 1) % n])
    rewire = np.flatnonzero(rng.random(src.size) < p)
    dst[rewire] = rng.integers(0, n, size=rewire.size)
    rewired = np.zeros(src.size, dtype=bool)
    rewired[rewire] = True
    return np.stack([src, dst]), rewired


def _pair_keys(u: np.ndarray, v: np.ndarray, n: int) -> np.ndarray:
    """Undirected key min*n + max; -1 for self-loops."""
    a = np.minimum(u, v)
    b = np.maximum(u, v)
    return np.where(a == b, -1, a * n + b)


def _erdos_renyi(n: int, k: float, rng: np.random.Generator) -> np.ndarray:
    """G(n, M): M = round(n k / 2) distinct uniform pairs (duplicates redrawn)."""
    n_ties = int(round(n * k / 2.0))
    if n_ties == 0:
        return np.empty((2, 0), np.int64)

    def draw(d):
        return _pair_keys(rng.integers(0, n, size=d[0]), rng.integers(0, n, size=d[0]), n)

    keys = _sample_unique(draw, lambda x: np.zeros(x.size, np.int64), np.array([n_ties]),
                          np.array([n * (n - 1) // 2]), rng)
    return np.stack([keys // n, keys % n])


def _sbm(n: int, k: float, communities: int, mixing: float, rng: np.random.Generator):
    """Stochastic block model: contiguous blocks of equal size (+-1); round(n k (1-mixing)/2)
    distinct ties inside blocks (random consumer, random other member of its block) and
    round(n k mixing/2) between blocks (random consumer, uniform consumer outside its
    block). With one community every tie is inside it. Returns (edges, community)."""
    c = communities
    community = (np.arange(n, dtype=np.int64) * c // n).astype(np.int32)
    size = np.bincount(community, minlength=c).astype(np.int64)
    start = np.concatenate(([0], np.cumsum(size)[:-1]))
    total = n * k / 2.0
    within_share = 1.0 if c == 1 else 1.0 - mixing
    n_within = int(round(total * within_share))
    n_between = int(round(total)) - n_within
    cap_within = int((size * (size - 1) // 2).sum())
    cap_between = n * (n - 1) // 2 - cap_within

    def draw(d):
        u = rng.integers(0, n, size=d[0])
        b = community[u]
        s = size[b]
        off = 1 + np.floor(rng.random(d[0]) * (s - 1)).astype(np.int64)
        np.minimum(off, s - 1, out=off)
        v = start[b] + (u - start[b] + off) % s
        u2 = rng.integers(0, n, size=d[1])
        b2 = community[u2]
        v2 = np.floor(rng.random(d[1]) * (n - size[b2])).astype(np.int64)
        np.minimum(v2, n - size[b2] - 1, out=v2)
        v2 = v2 + np.where(v2 >= start[b2], size[b2], 0)
        return np.concatenate([_pair_keys(u, v, n), _pair_keys(u2, v2, n)])

    def group_of(keys):
        return (community[keys // n] != community[keys % n]).astype(np.int64)

    keys = _sample_unique(draw, group_of, np.array([n_within, n_between]),
                          np.array([cap_within, cap_between]), rng)
    return np.stack([keys // n, keys % n]), community


def _holme_kim(n: int, k: float, triad_prob: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Holme & Kim (2002), as networkx's ``powerlaw_cluster_graph(n, m = max(1, round(k/2)),
    triad_prob)``: each newcomer attaches to m consumers by preferential attachment, and
    after each attachment, with probability ``triad_prob``, closes a triangle with a friend
    of the last one instead. Returns (edges (2, E), which ties closed a triangle). Pure
    Python: fine to ~10^5 consumers, slow above."""
    import random

    m = max(1, math.floor(k / 2.0 + 0.5))
    if m >= n:
        m = max(1, n - 1)
    draw = random.Random(int(rng.integers(2**31)))
    friends: list[set] = [set() for _ in range(n)]
    src, dst, triad = [], [], []
    repeated = list(range(m))  # one entry per tie end: attachment in proportion to degree

    def tie(a: int, b: int, closes: bool) -> None:
        friends[a].add(b)
        friends[b].add(a)
        src.append(a), dst.append(b), triad.append(closes)

    for source in range(m, n):
        targets: set = set()
        while len(targets) < m:
            targets.add(draw.choice(repeated))
        targets = list(targets)
        target = targets.pop()
        tie(source, target, False)
        repeated.append(target)
        count = 1
        while count < m:
            if draw.random() < triad_prob:
                around = [f for f in friends[target] if f != source and f not in friends[source]]
                if around:
                    other = draw.choice(sorted(around))
                    tie(source, other, True)
                    repeated.append(other)
                    count += 1
                    continue
            target = targets.pop()
            tie(source, target, False)
            repeated.append(target)
            count += 1
        repeated.extend([source] * m)
    return np.array([src, dst], dtype=np.int64).reshape(2, -1), np.array(triad, dtype=bool)


class Ties(NamedTuple):
    """A generator's ties: ``edges`` (2, E); ``strong`` (E,) if the generator decides tie
    strength (sbm, holme_kim), else ``embedded`` (E,) ties preferred as strong (or None)."""

    edges: np.ndarray
    community: np.ndarray | None = None
    strong: np.ndarray | None = None
    embedded: np.ndarray | None = None


def mark_strong(count: int, share: float, embedded: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    """round(share x count) ties marked strong (bool), embedded ties first, in a random order."""
    key = rng.random(count) - (embedded.astype(np.float64) if embedded is not None else 0.0)
    strong = np.zeros(count, dtype=bool)
    k = int(round(share * count))
    if k >= count:
        strong[:] = True
    elif k > 0:
        strong[np.argpartition(key, k - 1)[:k]] = True  # the k smallest keys (continuous: no ties)
    return strong


# --------------------------------------------------------------------------- the registry
def _drawn(ties_of: Callable) -> Callable:
    """A registry entry from a generator ``ties_of(cfg, n, k, rng) -> Ties``: checks ``n``
    and ``k``, marks the strong ties, builds the network."""

    def build(cfg: "NetworkConfig", n: int, rng: np.random.Generator) -> SocialNetwork:
        if cfg.mean_degree >= n:
            raise ConfigError("network.mean_degree", cfg.mean_degree, f"must be < population.size={n}")
        ties = ties_of(cfg, n, float(cfg.mean_degree), rng)
        edges = ties.edges
        strong = ties.strong if ties.strong is not None else mark_strong(
            edges.shape[1], cfg.strong_share, ties.embedded, rng)
        net = SocialNetwork.from_edges(edges[0], edges[1], n, kind=cfg.kind, strength=strong,
                                       community=ties.community)
        if net.n_edges == 0:
            raise ConfigError("network.mean_degree", cfg.mean_degree, "graph has no ties; raise network.mean_degree")
        return net

    return build


def _complete(cfg: "NetworkConfig", n: int, rng: np.random.Generator) -> SocialNetwork:
    return SocialNetwork(n=n, kind="complete", adjacency=None, degree=np.full(n, n - 1, np.int32))


def _sbm_blocks(cfg: "NetworkConfig", n: int, k: float, rng: np.random.Generator) -> Ties:
    if cfg.community_size > n:
        raise ConfigError("network.community_size", cfg.community_size, f"must be <= population.size={n}")
    edges, community = _sbm(n, k, max(1, round(n / cfg.community_size)), cfg.mixing, rng)
    return Ties(edges, community, strong=community[edges[0]] == community[edges[1]])


def _watts_strogatz_ties(cfg: "NetworkConfig", n: int, k: float, rng: np.random.Generator) -> Ties:
    edges, rewired = _watts_strogatz(n, k, cfg.rewire_prob, rng)
    return Ties(edges, embedded=~rewired)


def _holme_kim_ties(cfg: "NetworkConfig", n: int, k: float, rng: np.random.Generator) -> Ties:
    edges, triad = _holme_kim(n, k, cfg.triad_prob, rng)
    return Ties(edges, strong=triad)


class NetworkKind(NamedTuple):
    """One entry of :data:`NETWORKS`: how to build the graph and what it is (docs, demo)."""

    build: Callable[["NetworkConfig", int, np.random.Generator], SocialNetwork]
    description: str


#: The network generators, ``network.kind`` -> entry. ``NETWORK_KINDS``, the table in
#: ``docs/model.md`` and the demo's list derive from it (tests check the docs).
NETWORKS: dict[str, NetworkKind] = {
    "barabasi_albert": NetworkKind(_drawn(lambda c, n, k, rng: Ties(_barabasi_albert(n, k, rng))),
                                   "preferential attachment: hubs, short paths"),
    "watts_strogatz": NetworkKind(_drawn(_watts_strogatz_ties), "rewired ring lattice: clustered, small world"),
    "erdos_renyi": NetworkKind(_drawn(lambda c, n, k, rng: Ties(_erdos_renyi(n, k, rng))),
                               "uniform random ties: no hubs, no clustering"),
    "holme_kim": NetworkKind(_drawn(_holme_kim_ties),
                             "preferential attachment with triangle closure (strong ties; slow above 10^5)"),
    "sbm": NetworkKind(_drawn(_sbm_blocks), "stochastic block model: equal communities (社群), a share of ties between"),
    "complete": NetworkKind(_complete, "everyone is everyone's friend (the Bass law's graph; never materialized)"),
    "file": NetworkKind(lambda cfg, n, rng: load_network_file(cfg.path, cfg.strong_share, rng),
                        "your own edge list (.csv, .parquet) or .graphml; population.size is taken from it"),
}
NETWORK_KINDS: tuple[str, ...] = tuple(NETWORKS)


def build_network(cfg: "NetworkConfig", n: int, rng: np.random.Generator) -> SocialNetwork:
    """The friendship network of ``n`` consumers for ``cfg.kind``, drawn from ``rng``.

    ``kind == "file"`` reads ``cfg.path`` and ignores ``n``. Raises
    :class:`ConfigError` for ``n < 2``, ``mean_degree >= n``, ``sbm`` communities larger
    than the population, or a generator that would give no ties at all.
    """
    cfg.validate()
    if cfg.kind != "file" and (isinstance(n, bool) or int(n) != n or n < 2):
        raise ConfigError("population.size", n, "must be an integer >= 2")
    return NETWORKS[cfg.kind].build(cfg, int(n), rng)


def _bad(path, what: str) -> ConfigError:
    what = " ".join(str(what).split())  # one line
    if len(what) > 300:
        what = what[:297] + "..."
    return ConfigError("network.path", str(path), what)


def _integer_ids(path, col, name: str) -> np.ndarray:
    """A pandas column of node ids as an integer numpy array, or ConfigError."""
    import pandas as pd

    s = col.reset_index(drop=True)
    missing = s.isna().to_numpy()
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise _bad(path, f"missing/NaN node id in column {name!r} at row {row + 1}; "
                         f"every edge needs integer source and target ids")
    if pd.api.types.is_bool_dtype(s.dtype):
        raise _bad(path, f"column {name!r} holds booleans; node ids must be integers")
    if pd.api.types.is_integer_dtype(s.dtype):
        v = s.to_numpy()
        if v.dtype.kind == "u" and v.size and v.max() > np.iinfo(np.int64).max:
            raise _bad(path, f"node id {int(v.max())} in column {name!r} does not fit a signed 64-bit integer")
        return v.astype(np.int64)
    if pd.api.types.is_float_dtype(s.dtype):
        v = s.to_numpy(dtype=np.float64)
        bad = ~np.isfinite(v) | (v != np.round(v))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise _bad(path, f"non-integer node id {float(v[row])!r} in column {name!r} at row {row + 1}; "
                             f"node ids must be integers")
        return v.astype(np.int64)
    # object/string column: every entry must be an integer
    num = pd.to_numeric(s, errors="coerce")
    vals = num.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = np.isnan(vals) | (vals != np.round(vals))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise _bad(path, f"non-integer node id {s.iloc[row]!r} in column {name!r} at row {row + 1}; "
                         f"node ids must be integers")
    try:
        return np.array([int(x) for x in s.astype(str)], dtype=np.int64)
    except (ValueError, OverflowError):
        raise _bad(path, f"non-integer node id in column {name!r}; node ids must be integers (64-bit)") from None


def _read_table(path: Path, suffix: str):
    import pandas as pd

    if suffix == ".csv":
        try:
            df = pd.read_csv(path)
            cols = [str(c) for c in df.columns]
            if not {"source", "target"} <= set(cols) and cols and all(_is_int_literal(c) for c in cols):
                df = pd.read_csv(path, header=None)  # a header-less edge list
        except pd.errors.EmptyDataError:
            raise _bad(path, f"file is empty; {_EXPECTED}") from None
        except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as err:
            raise _bad(path, f"malformed CSV, cannot be parsed ({err}); {_EXPECTED}") from None
    else:
        try:
            df = pd.read_parquet(path)
        except Exception as err:  # pyarrow raises several types for a broken file
            raise _bad(path, f"malformed Parquet, cannot be read ({type(err).__name__}: {err}); {_EXPECTED}") from None
    cols = [str(c) for c in df.columns]
    if "source" in cols and "target" in cols:
        s, t = df[df.columns[cols.index("source")]], df[df.columns[cols.index("target")]]
    elif len(cols) == 2:
        s, t = df.iloc[:, 0], df.iloc[:, 1]
    else:
        raise _bad(path, f"wrong columns: found {len(cols)} column(s) {cols}; expected columns "
                         f"source,target (or exactly two columns, taken as source, target)")
    if len(df) == 0:
        raise _bad(path, f"edge list has no edges (no rows); {_EXPECTED}")
    strength = _strengths(path, df[df.columns[cols.index("strength")]]) if "strength" in cols else None
    probability = (_probabilities(path, df[df.columns[cols.index("probability")]]) if "probability" in cols
                   else None)
    return _integer_ids(path, s, "source"), _integer_ids(path, t, "target"), strength, probability


def _probabilities(path, column) -> np.ndarray:
    """A ``probability`` column: numbers in [0, 1]."""
    import pandas as pd

    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values) | (values < 0) | (values > 1)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise _bad(path, f"tie probability {str(column.iloc[row])!r} at row {row + 1}: must be a number in [0, 1]")
    return values


def _entry_values(adj: sp.csr_matrix, src: np.ndarray, dst: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``values`` of ties (src, dst) placed on the adjacency's entries, both directions; a
    tie listed more than once keeps its largest; self-loops dropped (float32)."""
    keep = src != dst
    rows = np.concatenate([src[keep], dst[keep]]).astype(np.int64)
    cols = np.concatenate([dst[keep], src[keep]]).astype(np.int64)
    n = adj.shape[0]
    entry_key = np.repeat(np.arange(n, dtype=np.int64), np.diff(adj.indptr)) * n + adj.indices
    out = np.zeros(adj.nnz)
    np.maximum.at(out, np.searchsorted(entry_key, rows * n + cols), np.concatenate([values[keep], values[keep]]))
    return out.astype(np.float32)


def _strengths(path, column) -> np.ndarray:
    """A ``strength`` column: ``strong``/``weak``, or numbers in [0, 1] (1 = strong)."""
    import pandas as pd

    text = column.astype(str).str.strip().str.lower()
    named = text.map({"strong": 1.0, "weak": 0.0})
    values = named.where(named.notna(), pd.to_numeric(column, errors="coerce")).to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values) | (values < 0) | (values > 1)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise _bad(path, f"tie strength {column.iloc[row]!r} at row {row + 1}: must be strong, weak or a number in [0, 1]")
    return values


def _is_int_literal(text: str) -> bool:
    try:
        int(text.strip())
        return True
    except ValueError:
        return False


def _read_graphml(path: Path):
    import networkx as nx

    try:
        g = nx.read_graphml(path)
    except Exception as err:  # XML ParseError, NetworkXError, KeyError, ...
        raise _bad(path, f"malformed GraphML, cannot be parsed ({type(err).__name__}: {err}); {_EXPECTED}") from None
    nodes = list(g.nodes())
    if not nodes:
        raise _bad(path, f"graph has no nodes; {_EXPECTED}")
    if g.number_of_edges() == 0:
        raise _bad(path, f"graph has no edges; {_EXPECTED}")
    if all(isinstance(x, str) and _is_int_literal(x) and str(int(x)) == x for x in nodes):
        # integer-looking ids ("0", "17", "-3") are taken as integers, sorted numerically
        ids = np.array([int(x) for x in nodes], dtype=np.int64)
        order = np.argsort(ids, kind="stable")
    else:
        try:
            order = np.array(sorted(range(len(nodes)), key=nodes.__getitem__), dtype=np.int64)
        except TypeError:  # mixed types: sort by their text
            order = np.array(sorted(range(len(nodes)), key=lambda i: str(nodes[i])), dtype=np.int64)
        ids = np.empty(len(nodes), dtype=object)
        ids[:] = nodes
    rank = np.empty(len(nodes), np.int64)
    rank[order] = np.arange(len(nodes))
    index = {node: int(rank[i]) for i, node in enumerate(nodes)}
    edges = np.array([(index[u], index[v]) for u, v in g.edges()], dtype=np.int64).reshape(-1, 2)
    return edges[:, 0], edges[:, 1], len(nodes), ids[order]


def load_network_file(path: str | Path, strong_share: float = 0.0,
                      rng: np.random.Generator | None = None) -> SocialNetwork:
    """A friendship network read from a file; consumers are the file's nodes.

    ``.csv``/``.parquet``: an edge list with columns ``source,target`` (or exactly two
    columns, taken in that order; a CSV without a header row is accepted), integer
    node ids of any values. ``.graphml``/``.xml``: any networkx-readable GraphML
    (isolated nodes are consumers too; directed edges become ties). Node ids are
    mapped to 0..n-1 in sorted order and kept in ``node_ids``. An optional column
    ``strength`` (``strong``/``weak`` or a number in [0, 1]) gives tie strengths; without
    it a share ``strong_share`` of the ties is strong, drawn from ``rng``. An optional column
    ``probability`` (numbers in [0, 1]) gives each tie's independent-cascade probability (a tie
    listed twice keeps its largest). Any problem raises :class:`ConfigError` with key ``network.path``.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in FILE_SUFFIXES:
        raise _bad(path, f"unsupported file type {suffix or '(no suffix)'!r}; allowed: .csv, .parquet, .graphml (or .xml)")
    if not p.exists():
        raise _bad(path, f"file does not exist; {_EXPECTED}")
    if not p.is_file():
        raise _bad(path, f"not a regular file; {_EXPECTED}")
    if p.stat().st_size == 0:
        raise _bad(path, f"file is empty; {_EXPECTED}")
    strength = probability = None
    if suffix in (".graphml", ".xml"):
        src, dst, n, node_ids = _read_graphml(p)
    else:
        s, t, strength, probability = _read_table(p, suffix)
        node_ids, inverse = np.unique(np.concatenate([s, t]), return_inverse=True)
        n = node_ids.size
        src, dst = inverse[: s.size], inverse[s.size:]
    tie_src, tie_dst = src, dst  # the file's rows, for their probabilities
    if strength is None:  # no strengths in the file: a share of the ties strong, as the generators do
        strength = mark_strong(src.size, strong_share, None, rng or np.random.default_rng(0))
    else:  # a tie listed twice (either direction) keeps its strongest
        key = np.minimum(src, dst) * n + np.maximum(src, dst)
        order = np.lexsort((-strength, key))
        first = np.concatenate(([True], key[order][1:] != key[order][:-1]))
        src, dst, strength = src[order][first], dst[order][first], strength[order][first]
    net = SocialNetwork.from_edges(src, dst, n, kind="file", strength=strength, node_ids=node_ids)
    if probability is not None:
        net.probability = _entry_values(net.adjacency, tie_src, tie_dst, probability)
    if net.n_edges == 0:
        raise _bad(path, f"all {n} consumers are isolated (no ties between distinct nodes, "
                         f"e.g. only self-loops); the network needs at least one tie")
    return net


def build_follower_graph(cfg: "KOLConfig", n: int, rng: np.random.Generator) -> sp.csr_matrix:
    """Directed follower edges: a (cfg.count, n) 0/1 CSR, row k = consumers following KOL k.

    Followers of KOL k: f_k = n x follower_min_share x (1 + Pareto(follower_alpha)), capped
    at floor(follower_max_share x n), at least 1, rounded. Followers are uniform without
    repeats: drawn with replacement, deduplicated, and topped up until every row has
    exactly f_k distinct consumers (for f_k > n/2 the n - f_k non-followers are drawn
    that way and the row is their complement). float32 data, int32 indices/indptr.
    """
    n = int(n)
    count = int(cfg.count)
    if count <= 0:
        return _csr_rows(np.empty(0, np.int64), np.empty(0, np.int64), (0, n))
    f = cfg.follower_min_share * n * (1.0 + rng.pareto(cfg.follower_alpha, size=count))
    cap = max(1, min(n, math.floor(cfg.follower_max_share * n)))
    f = np.clip(np.rint(np.minimum(f, cap)), 1, cap).astype(np.int64)

    # A KOL with more than n/2 followers draws the consumers who do *not* follow it
    # (fewer, and quick to make distinct), then takes the complement.
    big = f > n // 2
    target = np.where(big, n - f, f)

    def draw(d):
        rows = np.repeat(np.arange(count, dtype=np.int64), d)
        return rows * n + rng.integers(0, n, size=rows.size)

    keys = _sample_unique(draw, lambda x: x // n, target, np.full(count, n), rng)
    rows, cols = keys // n, keys % n
    if big.any():
        in_big = big[rows]
        big_rows = np.flatnonzero(big)
        local = np.full(count, -1, np.int64)
        local[big_rows] = np.arange(big_rows.size)
        follows = np.ones((big_rows.size, n), dtype=bool)
        follows[local[rows[in_big]], cols[in_big]] = False
        r_big, c_big = np.nonzero(follows)
        del follows
        keys = np.concatenate([keys[~in_big], big_rows[r_big] * n + c_big])
        keys.sort(kind="stable")
        rows, cols = keys // n, keys % n
    return _csr_rows(rows, cols, (count, n))
