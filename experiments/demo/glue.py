"""The demo's model side: controls → typed config, the model pair, the network view.

Nothing here imports Solara, so the unit tests (``tests/test_demo.py``) run
without the demo's extra dependencies, and the simulation core stays free of
Solara and Hydra: the demo composes a named scenario through the pipeline
(:func:`experiments.batch.compose_data`, after the preset file named by
``SOCIALSIM_PRESET``, which ``make demo PRESET=file.yaml`` sets), turns it into a
:class:`~sim.config.SimConfig` with :func:`sim.build.build_config` and wraps
:class:`~sim.model.MarketModel`.

* :class:`Controls` — the values of the sidebar; :data:`CONTROL_KEYS` says which
  config key each one sets.
* :func:`build_demo_config` — controls → validated config, with one-line notices
  for what it had to change (a campaign the platform lacks is dropped).
* :class:`DemoModel` — the ``mesa.Model`` that ``SolaraViz`` drives: the market
  and, when a campaign runs, its baseline (same seed, campaign off) stepped in
  lockstep, so that ROI and the incremental KPIs are defined every day.
* :func:`network_view` — a sample of at most :data:`MAX_VIEW_NODES` consumers,
  their ties, the KOLs and a layout, computed once per network and cached
  (every reset with the same network, seed and size reuses it).
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from importlib import resources

import mesa
import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import shortest_path

from sim.build import build_config
from sim.config import SimConfig
from sim.errors import ConfigError
from sim.evaluation import baseline_config, incremental, window_effects
from sim.model import MarketModel
from sim.network import NETWORK_KINDS

# --------------------------------------------------------------------------- choices
#: Consumers drawn in the network view, at most (the issue: "at most about 1,000").
MAX_VIEW_NODES = 1000


def _option_names(group: str) -> list[str]:
    folder = resources.files("conf") / group
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


#: Named scenarios (``conf/scenario``), the first is the demo's default.
SCENARIOS = ["referral_team_launch"] + [s for s in _option_names("scenario") if s != "referral_team_launch"]
#: Platform presets; "scenario" keeps the scenario's own, "generic" is the default platform.
PLATFORMS = ["scenario", "generic"] + _option_names("platform")
#: Network kinds from the registry (``network=file`` needs a file, not offered); "scenario" keeps the scenario's.
NETWORKS = ["scenario", *(k for k in NETWORK_KINDS if k != "file")]
#: A preset file of overrides applied before the controls' (``make demo PRESET=file.yaml``).
PRESET = os.environ.get("SOCIALSIM_PRESET") or None
#: Campaign choices: "scenario" keeps the scenario's campaigns; any other replaces them
#: (as ``campaign=[...]`` does on the command line).
CAMPAIGNS: dict[str, tuple[str, ...] | None] = {
    "scenario": None,
    "none": (),
    "referral": ("referral",),
    "team_purchase": ("team_purchase",),
    "coupon": ("coupon",),
    "kol_seeding": ("kol_seeding",),
    "referral + team_purchase": ("referral", "team_purchase"),
    "referral + coupon": ("referral", "coupon"),
    "all four": ("referral", "team_purchase", "coupon", "kol_seeding"),
}

#: Campaign sliders: (control, campaign key, setting). A slider moved off its default
#: (the option's default, its settings dataclass) sets its key when a campaign of exactly
#: that key is in force (from the scenario or the Campaign choice), as
#: ``campaign.<key>.<setting>=<value>`` would on the command line. A slider left at its
#: default leaves the scenario's own value (festival_peak's coupon is ¥20 off ¥100).
CAMPAIGN_SETTINGS = (
    ("invite_reward", "referral", "inviter_reward"),
    ("invite_reward", "referral", "invitee_reward"),
    ("team_size", "team_purchase", "team_size"),
    ("team_discount", "team_purchase", "team_discount"),
    ("coupon_value", "coupon", "value"),
    ("coupon_threshold", "coupon", "threshold"),
    ("kol_posts_per_week", "kol_seeding", "posts_per_week"),
)

#: Which config key each control sets (documentation and tests).
CONTROL_KEYS: dict[str, tuple[str, ...]] = {
    "preset": ("scenario=<name>",),
    "platform": ("platform=<name>",),
    "size": ("population.size",),
    "network": ("network=<kind>",),
    "campaign": ("campaign=[<options>]",),
    "seed": ("seed",),
}
for _control, _key, _setting in CAMPAIGN_SETTINGS:
    CONTROL_KEYS[_control] = CONTROL_KEYS.get(_control, ()) + (f"campaign.{_key}.{_setting}",)


@dataclass(frozen=True)
class Controls:
    """The sidebar's values. Defaults: a referral + team purchase launch, 5,000 consumers,
    campaign values at the options' defaults."""

    preset: str = SCENARIOS[0]
    platform: str = "scenario"
    size: int = 5000
    network: str = "scenario"
    campaign: str = "scenario"
    invite_reward: float = 10.0
    team_size: int = 2
    team_discount: float = 0.2
    coupon_value: float = 10.0
    coupon_threshold: float = 50.0
    kol_posts_per_week: float = 2.0
    seed: int = 0

    def overrides(self) -> tuple[str, ...]:
        """The Hydra overrides of the preset, platform, network, campaign, size and seed."""
        out = [f"scenario={self.preset}"]
        if self.platform != "scenario":
            out.append(f"platform={self.platform}")
        if self.network != "scenario":
            out.append(f"network={self.network}")
        options = CAMPAIGNS[self.campaign]
        if options is not None:
            out.append(f"campaign=[{','.join(options)}]" if options else "campaign=none")
        out += [f"population.size={int(self.size)}", f"seed={int(self.seed)}"]
        return tuple(out)

    def campaign_values(self, changed_only: bool = False) -> dict[tuple[str, str], float | int]:
        """``{(campaign key, setting): value}`` of the campaign sliders (``changed_only``:
        of those moved off their defaults)."""
        out = {}
        for control, key, setting in CAMPAIGN_SETTINGS:
            value = getattr(self, control)
            if changed_only and value == getattr(Controls, control):
                continue
            out[(key, setting)] = int(value) if setting == "team_size" else float(value)
        return out


# --------------------------------------------------------------------------- config
_HYDRA_LOCK = threading.Lock()
_COMPOSED: dict[tuple[str, ...], dict] = {}


def compose_data(overrides: tuple[str, ...]) -> dict:
    """The composed config (the preset, then ``overrides``) as plain simulation keys (a copy).

    Hydra's global state is not thread-safe and Solara serves each browser tab
    from its own thread: composing is serialized, and each result cached."""
    from experiments import batch

    with _HYDRA_LOCK:
        data = _COMPOSED.get(overrides)
        if data is None:
            data = _COMPOSED[overrides] = batch.compose_data(list(overrides), PRESET)
    return copy.deepcopy(data)


def build_demo_config(controls: Controls) -> tuple[SimConfig, list[str]]:
    """A validated config for ``controls`` and the notices of what had to change.

    Campaign sliders act where moved off their defaults (see :data:`CAMPAIGN_SETTINGS`).
    A campaign the chosen platform lacks is dropped (the command line would
    refuse the run); a slider value a campaign refuses is replaced by the
    campaign's own value. Any other refusal raises :class:`ConfigError`."""
    data = compose_data(controls.overrides())
    campaign = data.get("campaign") or {}
    original = copy.deepcopy(campaign)
    applied = set()
    for (key, setting), value in controls.campaign_values(changed_only=True).items():
        if isinstance(campaign.get(key), dict):
            campaign[key][setting] = value
            applied.add((key, setting))
    notices: list[str] = []
    for _ in range(2 * len(campaign) + 2):
        try:
            return build_config(data), notices
        except ConfigError as err:
            parts = err.key.split(".")
            if parts[0] != "campaign" or len(parts) < 2 or parts[1] not in campaign:
                raise
            key = parts[1]
            if len(parts) == 3 and (key, parts[2]) in applied:
                campaign[key][parts[2]] = original[key][parts[2]]
                applied.discard((key, parts[2]))
                notices.append(f"{err} — kept the campaign's own value {original[key][parts[2]]!r}")
            else:
                del campaign[key]
                notices.append(f"campaign {key} dropped: {err.allowed}")
    raise ConfigError("campaign", list(campaign), "could not be made valid")


# --------------------------------------------------------------------------- states
UNAWARE, AWARE, CUSTOMER, CHURNED = 0, 1, 2, 3
STATE_NAMES = ("unaware", "aware", "customer", "churned")


def consumer_states(consumers, idx: np.ndarray | None = None) -> np.ndarray:
    """State code of consumers ``idx`` (all by default): unaware, aware (not yet bought),
    customer (bought, not churned) or churned (a customer who left)."""
    sel = slice(None) if idx is None else idx
    states = np.where(consumers.aware[sel], AWARE, UNAWARE).astype(np.int8)
    states[consumers.first_purchase_day[sel] >= 0] = CUSTOMER
    states[consumers.churned[sel]] = CHURNED
    return states


# --------------------------------------------------------------------------- network view
@dataclass(eq=False)
class NetworkView:
    """A drawable sample of the market's network, in the unit square.

    ``nodes``: sampled consumer ids (sorted); ``local``: consumer id → position in
    ``nodes`` (-1 if not sampled); ``edges``: ties between sampled consumers as
    local index pairs; ``pos``: layout (len(nodes) × 2, in [0, 1]); ``degree``:
    friends of each sampled consumer in the whole network; ``kol_pos`` and
    ``kol_followers`` (local indices of each KOL's sampled followers),
    ``kol_spokes`` (a few of them, drawn as links), ``kol_size`` (√followers, largest 1).
    """

    nodes: np.ndarray
    local: np.ndarray
    edges: np.ndarray
    pos: np.ndarray
    degree: np.ndarray
    kol_pos: np.ndarray
    kol_followers: list[np.ndarray]
    kol_spokes: list[np.ndarray]
    kol_size: np.ndarray
    complete: bool
    population: int
    build_seconds: float = 0.0
    cache: dict = field(default_factory=dict)  # drawing caches (views.py)


_VIEW_LOCK = threading.Lock()
_VIEWS: OrderedDict = OrderedDict()
VIEW_CACHE_SIZE = 8
#: How many views were built (not taken from the cache), for the tests.
view_builds = 0


def view_key(config: SimConfig) -> tuple:
    """What a view depends on: the graph (network, size, seed) and the KOLs' followers."""
    return (config.seed, config.population.size, config.network, config.population.kols)


def network_view(model: MarketModel, max_nodes: int = MAX_VIEW_NODES) -> NetworkView:
    """The cached view of ``model``'s network (built on first use for this network)."""
    global view_builds
    key = view_key(model.config) + (max_nodes,)
    with _VIEW_LOCK:
        view = _VIEWS.get(key)
        if view is not None:
            _VIEWS.move_to_end(key)
            return view
        view = build_view(model, max_nodes)
        view_builds += 1
        _VIEWS[key] = view
        while len(_VIEWS) > VIEW_CACHE_SIZE:
            _VIEWS.popitem(last=False)
        return view


def sample_consumers(adjacency: sp.csr_matrix | None, n: int, max_nodes: int,
                     rng: np.random.Generator) -> np.ndarray:
    """At most ``max_nodes`` consumer ids (sorted): everyone if ``n <= max_nodes``; else a
    snowball (breadth-first, neighbours in random order) from a random consumer,
    restarted from another one when a component is exhausted; a uniform sample on
    the complete graph (no adjacency)."""
    if n <= max_nodes:
        return np.arange(n)
    if adjacency is None:
        return np.sort(rng.choice(n, max_nodes, replace=False))
    seen = np.zeros(n, dtype=bool)
    parts, total = [], 0
    while total < max_nodes:
        start = int(rng.choice(np.flatnonzero(~seen)))
        seen[start] = True
        frontier = np.array([start])
        while len(frontier) and total < max_nodes:
            take = frontier[: max_nodes - total]
            parts.append(take)
            total += len(take)
            neighbours = np.unique(adjacency[take].indices)
            neighbours = neighbours[~seen[neighbours]]
            rng.shuffle(neighbours)
            seen[neighbours] = True
            frontier = neighbours
    return np.sort(np.concatenate(parts))


def _pivot_mds(sub: sp.csr_matrix, rng: np.random.Generator, pivots: int = 16) -> np.ndarray:
    """Initial positions from hop distances to a few pivots (pivot MDS, Brandes & Pich 2006)."""
    n = sub.shape[0]
    piv = rng.choice(n, min(pivots, n), replace=False)
    dist = shortest_path(sub, unweighted=True, directed=False, indices=piv)
    finite = np.isfinite(dist)
    if not finite.any() or dist[finite].max() == 0:
        return rng.random((n, 2))
    dist = np.where(finite, dist, dist[finite].max() + 1)
    c = dist ** 2
    c = -0.5 * (c - c.mean(axis=1, keepdims=True) - c.mean(axis=0, keepdims=True) + c.mean())
    _, s, vt = np.linalg.svd(c, full_matrices=False)
    return vt[:2].T * s[:2]


def _normalize(pos: np.ndarray) -> np.ndarray:
    """Centre, scale so that 99 % of the nodes fall in [0, 1]², clip the rest."""
    pos = pos - pos.mean(axis=0)
    r = np.percentile(np.abs(pos), 99) or 1.0
    return 0.5 + 0.5 * np.clip(pos / r, -1.0, 1.0)


def force_layout(n: int, edges: np.ndarray, rng: np.random.Generator, iterations: int = 50) -> np.ndarray:
    """Positions in [0, 1]² of ``n`` nodes: pivot MDS, then Fruchterman–Reingold steps
    (all-pairs repulsion, vectorized, float32). ~0.6 s for 1,000 nodes; run once per view.
    With no ties: a sunflower (Vogel) disc."""
    if n == 0:
        return np.zeros((0, 2))
    if len(edges) == 0:
        i = np.arange(n) + 0.5
        r, theta = np.sqrt(i / n), i * math.pi * (3 - math.sqrt(5))
        return 0.5 + 0.5 * np.column_stack([r * np.cos(theta), r * np.sin(theta)])
    ei, ej = edges[:, 0], edges[:, 1]
    sub = sp.coo_matrix((np.ones(len(ei)), (ei, ej)), shape=(n, n)).tocsr()
    pos = _normalize(_pivot_mds(sub + sub.T, rng)).astype(np.float32)
    x, y = pos[:, 0].copy(), pos[:, 1].copy()
    k2 = np.float32(1.0 / n)
    k = np.sqrt(k2)
    t = 0.05
    cool = t / (iterations + 1)
    for _ in range(iterations):
        dx = x[:, None] - x[None, :]
        dy = y[:, None] - y[None, :]
        d2 = dx * dx + dy * dy
        np.maximum(d2, np.float32(1e-6), out=d2)
        w = k2 / d2
        fx = (dx * w).sum(axis=1)
        fy = (dy * w).sum(axis=1)
        ex, ey = x[ei] - x[ej], y[ei] - y[ej]
        pull = np.sqrt(ex * ex + ey * ey) / k
        ax = np.bincount(ej, ex * pull, n) - np.bincount(ei, ex * pull, n)
        ay = np.bincount(ej, ey * pull, n) - np.bincount(ei, ey * pull, n)
        fx = fx + ax - 0.1 * (x - 0.5)  # + a weak pull to the centre (keeps components together)
        fy = fy + ay - 0.1 * (y - 0.5)
        length = np.maximum(np.sqrt(fx * fx + fy * fy), 1e-9)
        step = np.minimum(length, t) / length
        x = (x + fx * step).astype(np.float32)
        y = (y + fy * step).astype(np.float32)
        t -= cool
    return _normalize(np.column_stack([x, y]).astype(np.float64))


def build_view(model: MarketModel, max_nodes: int = MAX_VIEW_NODES) -> NetworkView:
    """Sample, lay out and place the KOLs (uncached; use :func:`network_view`)."""
    start = time.perf_counter()
    rng = np.random.default_rng([model.config.seed, 2024])  # the view's own draws, not the model's
    net = model.network
    nodes = sample_consumers(net.adjacency, model.n, max_nodes, rng)
    local = np.full(model.n, -1, dtype=np.int64)
    local[nodes] = np.arange(len(nodes))
    if net.adjacency is None:
        edges = np.zeros((0, 2), dtype=np.int64)
    else:
        tri = sp.triu(net.adjacency[nodes][:, nodes], k=1).tocoo()
        edges = np.column_stack([tri.row, tri.col]).astype(np.int64)
    # Consumers inside a disc of radius 0.42 around the centre; KOLs on a ring outside it.
    pos = 0.5 + 0.84 * (force_layout(len(nodes), edges, rng) - 0.5)
    degree = np.asarray(net.degree[nodes], dtype=np.int64)
    followers = model.follower_graph
    n_kols = followers.shape[0]
    counts = np.diff(followers.indptr)
    order = np.argsort(-counts, kind="stable")  # largest KOL at the top, then clockwise
    angle = -math.pi / 2 + 2 * math.pi * np.argsort(order) / max(n_kols, 1)
    kol_pos = np.column_stack([0.5 + 0.47 * np.cos(angle), 0.5 + 0.47 * np.sin(angle)])
    kol_followers, kol_spokes = [], []
    for k in range(n_kols):
        mine = local[followers.indices[followers.indptr[k]:followers.indptr[k + 1]]]
        mine = np.sort(mine[mine >= 0])
        kol_followers.append(mine)
        kol_spokes.append(np.sort(rng.choice(mine, min(8, len(mine)), replace=False)) if len(mine) else mine)
    kol_size = np.sqrt(counts / max(counts.max(), 1)) if n_kols else np.zeros(0)
    return NetworkView(nodes=nodes, local=local, edges=edges, pos=pos, degree=degree, kol_pos=kol_pos,
                       kol_followers=kol_followers, kol_spokes=kol_spokes, kol_size=kol_size,
                       complete=net.adjacency is None, population=model.n,
                       build_seconds=time.perf_counter() - start)


# --------------------------------------------------------------------------- the model pair
def retention_so_far(cohorts, day: int, horizon: int | None = None) -> np.ndarray:
    """Retention by days since first purchase k = 0..min(day - 1, horizon), from the cohorts
    observable k days later by ``day`` (first purchase on 1..day - k): the pooled share
    active on day f + k. NaN where no such cohort has customers. At the end of a run this
    is ``cohorts.curve()``."""
    last = day - 1 if horizon is None else min(day - 1, horizon)
    if last < 0:
        return np.zeros(0)
    f = np.arange(1, day + 1)[:, None]
    k = np.arange(last + 1)[None, :]
    observable = f + k <= day
    active = np.where(observable, cohorts.activity[1:day + 1, : last + 1], 0).sum(axis=0)
    size = np.where(observable, cohorts.size[1:day + 1, None], 0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(size > 0, active / np.maximum(size, 1), np.nan)


def k_factor(market: MarketModel) -> float | None:
    """Referral K-factor so far: credited conversions per inviter (the first referral campaign)."""
    for m in market.mechanisms:
        if m.family == "referral":
            value = next((v for k, v in m.summary(market).items() if k.endswith("k_factor")), None)
            return value
    return None


class DemoModel(mesa.Model):
    """What ``SolaraViz`` steps and resets: one market (and its baseline) per control values.

    Every argument is a sidebar control (Mesa's ``ModelCreator`` passes them by
    keyword on Reset). ``step()`` simulates one day of the market and of its
    baseline (the same config and seed with the campaign off, only when a
    campaign is in force); they share their random numbers, so the differences
    are the campaign's effect. ``running`` turns False after the last day.
    """

    def __init__(self, preset: str = Controls.preset, platform: str = Controls.platform,
                 size: int = Controls.size, network: str = Controls.network,
                 campaign: str = Controls.campaign, invite_reward: float = Controls.invite_reward,
                 team_size: int = Controls.team_size, team_discount: float = Controls.team_discount,
                 coupon_value: float = Controls.coupon_value, coupon_threshold: float = Controls.coupon_threshold,
                 kol_posts_per_week: float = Controls.kol_posts_per_week, seed: int = Controls.seed):
        super().__init__(rng=int(seed))
        self.controls = Controls(preset=preset, platform=platform, size=int(size), network=network,
                                 campaign=campaign, invite_reward=invite_reward, team_size=int(team_size),
                                 team_discount=team_discount, coupon_value=coupon_value,
                                 coupon_threshold=coupon_threshold, kol_posts_per_week=kol_posts_per_week,
                                 seed=int(seed))
        start = time.perf_counter()
        try:
            self.config, self.notices = build_demo_config(self.controls)
        except ConfigError as err:  # never leave the page without a model
            fallback = dataclasses.replace(Controls(), size=self.controls.size, seed=self.controls.seed)
            self.config, self.notices = build_demo_config(fallback)
            self.notices.insert(0, f"{err} — showing the default scenario instead")
        self.market = MarketModel(self.config)
        self.baseline = MarketModel(baseline_config(self.config)) if self.config.campaign.mechanisms else None
        self.view = network_view(self.market)
        self.build_seconds = time.perf_counter() - start
        self.days = self.config.days
        self.step_seconds: list[float] = []
        self.series: dict[str, list[float]] = {k: [] for k in (
            "day", "gmv", "customers", "active_users", "base_gmv", "base_customers", "base_active_users")}
        #: Size (origin and resharers) of the largest reshare cascade so far, and how many of
        #: ``market.cascades``' daily entries it has looked at (step() reads only the new ones).
        self.largest_cascade = 0
        self._cascades_seen = 0

    @property
    def day(self) -> int:
        return self.market.day

    def step(self) -> None:
        """One day of the market and its baseline."""
        if self.market.day >= self.days:
            self.running = False
            return
        start = time.perf_counter()
        self.market.step()
        if self.baseline is not None:
            self.baseline.step()
        self.step_seconds.append(time.perf_counter() - start)
        for entry in self.market.cascades[self._cascades_seen:]:  # (day, promoters, sizes, depths)
            if len(entry[2]):
                self.largest_cascade = max(self.largest_cascade, int(entry[2].max()))
        self._cascades_seen = len(self.market.cascades)
        row = self.market.metrics.rows[-1]
        s = self.series
        s["day"].append(row["day"])
        s["gmv"].append(row["gmv"])
        s["customers"].append(row["adopters"])
        s["active_users"].append(row["active_users"])
        if self.baseline is not None:
            base = self.baseline.metrics.rows[-1]
            s["base_gmv"].append(base["gmv"])
            s["base_customers"].append(base["adopters"])
            s["base_active_users"].append(base["active_users"])
        self.running = self.market.day < self.days

    # ------------------------------------------------------------------ what the views draw
    def view_states(self) -> np.ndarray:
        """State code of every sampled consumer (see :func:`consumer_states`)."""
        return consumer_states(self.market.consumers, self.view.nodes)

    def events(self) -> dict[str, np.ndarray]:
        """Today's events among the sampled consumers (local indices): ``new_customers``
        (first purchase today), ``team`` (bought in a team / group order today),
        ``kol_touched`` (engaged with a KOL post today), ``referrals`` (pairs
        inviter → invitee of referral conversions today, both sampled),
        ``kols_posting`` (KOL indices that posted today), and today's reshare cascades:
        ``reshared`` (sorted: the sampled consumers in ``market.reshared_today``, the
        cascades' origins and resharers), ``reshare_origins`` (sorted: the sampled origins,
        ``market.reshare_origins_today``) and ``reshare_ties`` (pairs a < b of ``reshared``
        that are friends: the model does not record who passed a post to whom, so these are
        every tie a post can have travelled along today between two sampled consumers — a
        superset of the sampled part of the cascades' real paths)."""
        m, v, day = self.market, self.view, self.market.day
        c = m.consumers
        nodes = v.nodes
        empty = np.zeros(0, dtype=np.int64)
        out = {"new_customers": np.flatnonzero(c.first_purchase_day[nodes] == day) if day else empty,
               "kol_touched": np.flatnonzero(c.kol_touch_day[nodes] == day) if day else empty,
               "team": empty, "referrals": np.zeros((0, 2), dtype=np.int64),
               "kols_posting": np.array([k.index for k in m.kols if k.posted_today and day], dtype=np.int64),
               **self._reshare_events()}
        team_channels = [m_.index + 1 for m_ in m.mechanisms if m_.family == "team_purchase"]
        if team_channels and day and m.ledger.n_orders:
            days = m.ledger.column("day")
            today = days == day
            if today.any():
                channel = m.ledger.column("channel")[today]
                who = m.ledger.column("consumer")[today][np.isin(channel, team_channels)]
                loc = v.local[who]
                out["team"] = np.unique(loc[loc >= 0])
        pairs = []
        for mech in m.mechanisms:
            if mech.family == "referral" and day:
                invitee = np.flatnonzero(mech.converted[nodes] & (c.first_purchase_day[nodes] == day))
                inviter = v.local[mech.referrer[nodes[invitee]]]
                keep = inviter >= 0
                pairs.append(np.column_stack([inviter[keep], invitee[keep]]))
        if pairs:
            out["referrals"] = np.concatenate(pairs).astype(np.int64)
        return out

    def _reshare_events(self) -> dict[str, np.ndarray]:
        """``reshared``, ``reshare_origins`` and ``reshare_ties`` of :meth:`events`.

        The ties come from the view's own ties (``view.edges``: every friendship between two
        sampled consumers), masked by membership: O(sampled ties) a frame, whatever the
        population. No cascades on the complete graph (no adjacency): empties."""
        m, v = self.market, self.view
        empty = np.zeros(0, dtype=np.int64)
        out = {"reshared": empty, "reshare_origins": empty, "reshare_ties": np.zeros((0, 2), dtype=np.int64)}
        reshared = m.reshared_today
        if v.complete or not m.day or not len(reshared):
            return out
        loc = v.local[reshared]
        loc = np.sort(loc[loc >= 0])
        origins = v.local[m.reshare_origins_today]
        out["reshared"] = loc
        out["reshare_origins"] = np.sort(origins[origins >= 0])
        if len(loc) > 1 and len(v.edges):
            member = np.zeros(len(v.nodes), dtype=bool)
            member[loc] = True
            out["reshare_ties"] = v.edges[member[v.edges[:, 0]] & member[v.edges[:, 1]]]
        return out

    def counters(self) -> dict:
        """The counters panel: day, GMV, customers, K-factor, ROI and friends (``None``
        where undefined: ROI needs a campaign that has cost something)."""
        m, b = self.market, self.baseline
        rows = m.metrics.rows
        cost = sum(x.spent_cents for x in m.mechanisms) / 100
        out = {
            "day": m.day, "days": self.days, "population": m.n,
            "gmv": m.ledger.gmv_cents / 100, "gmv_today": rows[-1]["gmv"] if rows else 0.0,
            "net_gmv": m.ledger.net_gmv_cents / 100, "returns": m.ledger.n_returns,
            "refund_rate": m.ledger.refunded["refund_cents"] / m.ledger.gmv_cents if m.ledger.gmv_cents else None,
            "orders": m.ledger.n_orders, "customers": m.n_adopters, "aware": m.n_aware,
            "churned": m.n_churned, "active_users": rows[-1]["active_users"] if rows else 0,
            "k_factor": k_factor(m), "campaign_cost": cost if m.mechanisms else None,
            "roi": None, "roi_net": None, "incremental_gmv": None, "incremental_customers": None,
            "campaigns": [x.key for x in m.mechanisms],
            # reshare cascades (None where there can be none: diffusion.reshare = 0 or the
            # complete graph): consumers who reshared a post today (the daily metric
            # ``reshares``, origins not counted) and the largest cascade so far (origin included)
            "reshares_today": None, "largest_cascade": None,
            # the products' mean shown rating (stars) and the reviews written so far
            "mean_rating": float(m.reviews.rating().mean()), "reviews": int(sum(r["reviews"] for r in rows)),
        }
        if m.config.diffusion.reshare > 0 and m.network.adjacency is not None:
            out.update(reshares_today=int(rows[-1].get("reshares", 0)) if rows else 0,
                       largest_cascade=self.largest_cascade)
        if b is not None and m.day:
            inc = incremental(_money_summary(m), _money_summary(b))
            out.update(roi=inc["roi"], roi_net=inc["roi_net"], incremental_gmv=inc["incremental_gmv"],
                       incremental_customers=inc["incremental_customers"])
        out.update(self.festival_counters())
        return out

    def festival_counters(self) -> dict:
        """A festival's and a pre-sale's counters (only where one runs): purchases deferred to
        the peak so far, pre-sale deposits, and the pre-peak and hangover GMV against the
        baseline (None until their windows have begun)."""
        m, b = self.market, self.baseline
        out: dict = {}
        for x in m.mechanisms:
            if x.option == "festival":
                out["festival_deferred"] = int(x.totals.get("festival_deferred", 0) + x.today.get("festival_deferred", 0))
                out["prepeak_gmv_ratio"] = out["hangover_gmv_ratio"] = None
                if b is not None and m.day:
                    effects = window_effects(m, b)
                    out["prepeak_gmv_ratio"] = effects.get(f"{'' if x.key == 'festival' else x.key + '_'}"
                                                           "festival_prepeak_gmv_ratio")
                    out["hangover_gmv_ratio"] = effects.get(f"{'' if x.key == 'festival' else x.key + '_'}"
                                                            "festival_hangover_gmv_ratio")
            elif x.option == "presale":
                out["presale_deposits"] = int(x.totals.get("presale_deposits", 0) + x.today.get("presale_deposits", 0))
        return out

    def retention(self, horizon: int = 60) -> tuple[np.ndarray, np.ndarray | None]:
        """Retention curve so far (k = 0..horizon days since first purchase), and the baseline's."""
        cur = retention_so_far(self.market.metrics.cohorts, self.market.day, horizon)
        base = (retention_so_far(self.baseline.metrics.cohorts, self.baseline.day, horizon)
                if self.baseline is not None else None)
        return cur, base


def _money_summary(model: MarketModel) -> dict:
    """The keys :func:`sim.evaluation.incremental` reads, without the full summary's cost."""
    led = model.ledger
    return {"gmv": led.gmv_cents / 100, "customers": model.n_adopters,
            "gross_margin": (led.gmv_cents - led.commission_cents - led.cost_cents) / 100,
            "net_gmv": led.net_gmv_cents / 100,
            "net_margin": (led.net_gmv_cents - led.net_commission_cents - led.net_cost_cents) / 100,
            "campaign_cost_total": sum(x.spent_cents for x in model.mechanisms) / 100,
            "retention_d30": None, "ltv": None}
