"""The team purchase family: group-buy (拼团) and community group-buy (社区团购).

Options (``campaign=<option>``), each a mechanism of family ``team_purchase``:

* ``team_purchase`` (拼团): each product of ``products`` has its solo (list)
  price P and a team price T = round(P (1 - ``team_discount``)). A visitor
  shown such a product opens a team when the saving is worth the hassle,
  β_i (P - T)/R > ``hassle``, and then decides to buy at the team price (its
  utility less the hassle). A team needs ``team_size`` members and stays open
  ``window_days`` (opened at mid-day); each day of its window the opener shares
  it with ``share_reach`` random friends, who join with their purchase
  probability at the team price (plus ``share_trust_weight`` x trust in
  friends), scaled by the share of that day inside the window. A full team
  becomes orders for all its members at the team price (channel
  ``team_purchase``); a team not full by its deadline is refunded: no order,
  no GMV.
* ``community_groupbuy`` (社区团购): group leaders (团长), the best-connected
  consumers of each community (or of the network), post the group-buy deal to
  their friends in their community; a reached friend hears of the market, may
  visit today, and for ``pickup_days`` days gets ``groupbuy_discount`` off the
  deal's products; the leader earns ``leader_commission`` of what its
  recruits pay, in cash.

Equations, config keys, metrics: ``docs/model.md (Campaigns)``. Money in
fen; randomness only from the mechanism's own stream, per-consumer draws full
length and indexed by consumer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from agents.consumers import SOURCE_TEAM
from scenarios.base import CampaignSettings, Mechanism, product_mask
from scenarios.registry import register
from sim.errors import ConfigError, check_at_least, check_non_negative, check_probability

_EPS = 1e-9  # tolerance on fractional deadlines (days)


def _check_rate(key: str, value: float, what: str) -> None:
    if not math.isfinite(value) or not 0.0 <= value < 1.0:
        raise ConfigError(key, value, f"must be {what} in [0, 1)")




def _check_products(key: str, products: tuple[int, ...]) -> None:
    if any(p < 0 for p in products):
        raise ConfigError(key, list(products), "catalogue indices must be >= 0 ([] = every product)")


# --------------------------------------------------------------------------- configs
@dataclass(unsafe_hash=True)
class TeamPurchaseConfig(CampaignSettings):
    team_discount: float = 0.2  # share of the list price off at the team price, [0, 1)
    team_size: int = 2  # members a team needs, opener included, >= 2
    window_days: float = 1.0  # days a team stays open (1 = 24 h; fractional allowed), > 0
    hassle: float = 0.3  # utility cost of opening a team (units of purchase utility), >= 0
    share_reach: int = 5  # friends the opener shares an open team with, per day, >= 1
    share_trust_weight: float = 1.0  # join utility per unit of trust in friends, >= 0
    products: tuple[int, ...] = ()  # catalogue indices sold in teams; () = every product

    def validate(self, prefix: str) -> None:
        super().validate(prefix)
        _check_rate(f"{prefix}.team_discount", self.team_discount, "a share of the list price")
        check_at_least(f"{prefix}.team_size", self.team_size, 2)
        if not math.isfinite(self.window_days) or self.window_days <= 0:
            raise ConfigError(f"{prefix}.window_days", self.window_days, "must be > 0 days (1 = 24 h)")
        check_non_negative(f"{prefix}.hassle", self.hassle)
        check_at_least(f"{prefix}.share_reach", self.share_reach, 1)
        check_non_negative(f"{prefix}.share_trust_weight", self.share_trust_weight)
        _check_products(f"{prefix}.products", self.products)


@dataclass(unsafe_hash=True)
class CommunityGroupBuyConfig(CampaignSettings):
    groupbuy_discount: float = 0.15  # share of the order value off for a leader's recruits, [0, 1)
    leader_commission: float = 0.1  # share of the recruits' paid amount paid to the leader, [0, 1)
    leader_share: float = 0.006  # share of consumers who lead (the best connected), (0, 1]
    post_every_days: int = 1  # days between a leader's posts, >= 1
    reach_prob: float = 0.3  # P(one leader's post reaches one of its friends), [0, 1]
    visit_prob: float = 0.5  # P(a reached consumer visits the platform that day), [0, 1]
    pickup_days: int = 2  # days the deal stays open to a reached consumer (the post's day included), >= 1
    products: tuple[int, ...] = ()  # catalogue indices in the deal; () = every product

    def validate(self, prefix: str) -> None:
        super().validate(prefix)
        _check_rate(f"{prefix}.groupbuy_discount", self.groupbuy_discount, "a share of the order value")
        _check_rate(f"{prefix}.leader_commission", self.leader_commission, "a share of the paid amount")
        if not math.isfinite(self.leader_share) or not 0.0 < self.leader_share <= 1.0:
            raise ConfigError(f"{prefix}.leader_share", self.leader_share, "must be a share in (0, 1]")
        check_at_least(f"{prefix}.post_every_days", self.post_every_days, 1)
        check_probability(f"{prefix}.reach_prob", self.reach_prob)
        check_probability(f"{prefix}.visit_prob", self.visit_prob)
        check_at_least(f"{prefix}.pickup_days", self.pickup_days, 1)
        _check_products(f"{prefix}.products", self.products)


# --------------------------------------------------------------------------- 拼团
@register
class TeamPurchase(Mechanism):
    """Group-buy (拼团). Open teams are held as arrays (one row per team):
    product, opener, opening day, deadline (days, fractional), members so far
    and the member ids (``team_size`` columns, -1 = empty seat)."""
    outside_window = frozenset({"end_day", "ration", "take_deferred"})
    option = "team_purchase"
    settings = TeamPurchaseConfig
    feature = "team_purchase"  # the platform must offer it (platform.social_features)

    family = "team_purchase"
    return_channel = "team"
    DAILY = ("team_opened", "team_shares", "team_joins", "team_filled", "team_expired",
             "team_members_new", "team_gmv")

    def __init__(self, key, cfg: TeamPurchaseConfig, model, index):
        super().__init__(key, cfg, model, index)
        cat = model.catalogue
        self.on_sale = product_mask(key, cfg.products, cat.size)
        list_cents = cat.list_price_cents.astype(np.int64)
        team = np.round(list_cents * (1.0 - cfg.team_discount)).astype(np.int64)
        self.team_price_cents = np.where(self.on_sale, team, list_cents)  # T_j (fen)
        self.saving_cents = list_cents - self.team_price_cents  # P_j - T_j (fen), the team discount
        self.in_team = np.zeros(model.n, dtype=bool)  # member (or opener) of an open team
        self.reserved_cents = 0  # team discounts promised to open teams (budget held back)
        self.gmv_cents = 0
        size = cfg.team_size
        self.t_product = np.zeros(0, dtype=np.int64)
        self.t_opener = np.zeros(0, dtype=np.int64)
        self.t_opened = np.zeros(0, dtype=np.int64)
        self.t_deadline = np.zeros(0, dtype=np.float64)
        self.t_count = np.zeros(0, dtype=np.int64)
        self.t_members = np.zeros((0, size), dtype=np.int64)

    # ------------------------------------------------------------------ open teams
    @property
    def n_open(self) -> int:
        return len(self.t_product)

    def _liability(self, teams) -> np.ndarray:
        """Team discount a team costs if it fills: n x (P - T) (fen)."""
        return self.saving_cents[self.t_product[teams]] * self.cfg.team_size

    def _drop(self, teams: np.ndarray) -> None:
        """Close teams (filled or expired): free their members, release their reserve."""
        if not len(teams):
            return
        members = self.t_members[teams]
        self.in_team[members[members >= 0]] = False
        self.reserved_cents -= int(self._liability(teams).sum())
        keep = np.ones(self.n_open, dtype=bool)
        keep[teams] = False
        for name in ("t_product", "t_opener", "t_opened", "t_deadline", "t_count", "t_members"):
            setattr(self, name, getattr(self, name)[keep])

    # ------------------------------------------------------------------ hooks
    def adjust_offer(self, model, offer) -> None:
        cfg = self.cfg
        saving = self.saving_cents[offer.product]
        if not saving.any():  # zero intensity (team price = solo price): the solo offer only
            return
        deadline = model.day + 0.5 + cfg.window_days
        if cfg.end_day is not None and deadline > cfg.end_day + 1 + _EPS:
            return  # a team must be able to run its whole window inside the campaign
        who = offer.who
        # The team price does not stack with other discounts: it competes with the solo
        # price after them, and replaces them for visitors who choose a team.
        team_price = offer.value_cents - saving
        gain = model.consumers.price_sensitivity[who] * ((offer.paid_cents - team_price) / 100.0) / model.reference_price
        mask = ((saving > 0) & (gain > cfg.hassle) & (offer.deferred < 0) & (offer.quantity == 1)
                & ~self.in_team[who])
        if not mask.any():
            return
        mask &= self.targeted(model, who)
        if not mask.any():
            return
        for key in list(offer.discounts):
            if key != self.key:
                offer.discounts[key] = np.where(mask, 0, offer.discounts[key])
        offer.add_discount(self.key, saving, where=mask)
        offer.deferred[mask] = self.index
        offer.utility_shift[mask] -= cfg.hassle

    def ration(self, model, offer, buy) -> np.ndarray:
        """New teams the budget cannot cover, counting a full team's n x (P - T)
        and what open teams may still cost, in a random order. Those visitors
        decide again at the solo price (the hassle is given back)."""
        lost = np.zeros(len(offer.who), dtype=bool)
        mine = offer.discount_of(self.key)
        if mine is None or self.budget_cents is None:
            return lost
        want = np.flatnonzero(buy & (offer.deferred == self.index))
        if not len(want):
            return lost
        order = want[np.argsort(self.rng.random(len(want)), kind="stable")]
        covered = self.affordable(mine[order] * self.cfg.team_size, reserved_cents=self.reserved_cents)
        lost[order[~covered]] = True
        offer.utility_shift[lost] += self.cfg.hassle
        return lost

    def take_deferred(self, model, offer, chosen) -> None:
        """Each chosen visitor opens a team (no order yet), shared at once on its opening day."""
        cfg = self.cfg
        who = offer.who[chosen]
        k = len(who)
        start = self.n_open
        members = np.full((k, cfg.team_size), -1, dtype=np.int64)
        members[:, 0] = who
        self.t_product = np.concatenate([self.t_product, offer.product[chosen].astype(np.int64)])
        self.t_opener = np.concatenate([self.t_opener, who.astype(np.int64)])
        self.t_opened = np.concatenate([self.t_opened, np.full(k, model.day, dtype=np.int64)])
        self.t_deadline = np.concatenate([self.t_deadline, np.full(k, model.day + 0.5 + cfg.window_days)])
        self.t_count = np.concatenate([self.t_count, np.ones(k, dtype=np.int64)])
        self.t_members = np.concatenate([self.t_members, members])
        self.in_team[who] = True
        new = np.arange(start, start + k)
        self.reserved_cents += int(self._liability(new).sum())
        self.count("team_opened", k)
        # Today's visitors have already taken today's decision: they cannot join today.
        exclude = np.zeros(model.n, dtype=bool)
        exclude[offer.who] = True
        self._share(model, new, exclude)

    def outreach(self, model) -> None:
        if self.n_open:
            self._share(model, np.arange(self.n_open), None)

    def end_day(self, model) -> None:
        """Teams whose window ends today and are not full expire: refunded, no order."""
        if not self.n_open:
            return
        expired = np.flatnonzero((self.t_count < self.cfg.team_size)
                                 & (self.t_deadline <= model.day + 1 + _EPS))
        if len(expired):
            self.count("team_expired", len(expired))
            self._drop(expired)

    # ------------------------------------------------------------------ sharing and joining
    def _share(self, model, teams: np.ndarray, exclude: np.ndarray | None) -> None:
        """Openers of ``teams`` share them with ``share_reach`` random friends each;
        eligible friends join with probability e_d x Pr(buy at T | + w_F tau^F)."""
        cfg, c, n = self.cfg, model.consumers, model.n
        day = model.day
        # e_d: the part of today [d, d+1) inside the window [t0 + 1/2, deadline)
        exposure = np.clip(np.minimum(day + 1.0, self.t_deadline[teams])
                           - np.maximum(float(day), self.t_opened[teams] + 0.5), 0.0, 1.0)
        live = (exposure > 0) & (self.t_count[teams] < cfg.team_size)
        teams, exposure = teams[live], exposure[live]
        if not len(teams):
            return
        opener = self.t_opener[teams]
        local = np.repeat(np.arange(len(teams)), cfg.share_reach)  # one row per share draw
        u = self.rng.random(len(local))
        o = opener[local]
        net = model.network
        if net.adjacency is None:  # complete graph: a uniform other consumer
            friend = np.minimum((u * (n - 1)).astype(np.int64), n - 2)
            friend += friend >= o
        else:
            adj = net.adjacency
            deg = net.degree[o].astype(np.int64)
            has = deg > 0
            local, o, deg, u = local[has], o[has], deg[has], u[has]
            pos = adj.indptr[o].astype(np.int64) + np.minimum((u * deg).astype(np.int64), deg - 1)
            friend = adj.indices[pos].astype(np.int64)
        pair = np.unique(local * n + friend)  # a friend drawn twice for one team is reached once
        local, friend = pair // n, pair % n
        self.count("team_shares", len(friend))
        ok = ~model.transacted[friend] & ~c.churned[friend] & ~self.in_team[friend]
        if exclude is not None:
            ok &= ~exclude[friend]
        local, friend = local[ok], friend[ok]
        if len(friend):
            ok = self.targeted(model, friend)
            local, friend = local[ok], friend[ok]
        u_join = self.rng.random(n)  # full length, indexed by consumer
        if not len(friend):
            return
        product = self.t_product[teams[local]]
        price = self.team_price_cents[product] / 100.0
        shift = cfg.share_trust_weight * c.trust_friends[friend]
        prob = exposure[local] * model.purchase_probability(friend, product, price, utility_shift=shift)
        join = u_join[friend] < prob
        local, friend = local[join], friend[join]
        if not len(friend):
            return
        # A friend joins one team a day (a random one of those it accepted) ...
        priority = self.rng.random(len(friend))
        order = np.lexsort((priority, friend))
        first = np.concatenate(([True], friend[order][1:] != friend[order][:-1]))
        keep = order[first]
        local, friend, priority = local[keep], friend[keep], priority[keep]
        # ... and a team takes joiners, in a random order, up to its free seats.
        order = np.lexsort((priority, local))
        local, friend = local[order], friend[order]
        rank = np.arange(len(local)) - np.searchsorted(local, local, side="left")
        team = teams[local]
        seat = self.t_count[team] + rank
        ok = seat < cfg.team_size
        team, friend, seat = team[ok], friend[ok], seat[ok]
        self.t_members[team, seat] = friend
        self.t_count += np.bincount(team, minlength=self.n_open)
        self.in_team[friend] = True
        model.make_aware(friend, SOURCE_TEAM)
        c.active[friend] = True
        model.transacted[friend] = True
        self.count("team_joins", len(friend))
        self._fill(model)

    def _fill(self, model) -> None:
        """Full teams become orders for every member at the team price (channel = this key)."""
        full = np.flatnonzero(self.t_count >= self.cfg.team_size)
        if not len(full):
            return
        size = self.cfg.team_size
        who = self.t_members[full].ravel()
        product = np.repeat(self.t_product[full], size)
        orders = model.book_orders(who, product, discounts={self.key: self.saving_cents[product]},
                                   channel=self.key)
        value = int(orders.value_cents.sum())
        self.gmv_cents += value
        self.count("team_filled", len(full))
        self.count("team_members_new", int(orders.new_customer.sum()))
        self.count("team_gmv", value / 100)
        self._drop(full)

    # ------------------------------------------------------------------ KPIs
    def summary(self, model) -> dict:
        t = self.totals
        filled, expired = int(t.get("team_filled", 0)), int(t.get("team_expired", 0))
        done = filled + expired
        return {
            "teams_opened": int(t.get("team_opened", 0)), "teams_filled": filled, "teams_expired": expired,
            "teams_open_at_end": self.n_open,
            "team_completion_rate": filled / done if done else None,
            "team_joins": int(t.get("team_joins", 0)),
            "team_gmv": self.gmv_cents / 100, "team_new_customers": int(t.get("team_members_new", 0)),
        }


# --------------------------------------------------------------------------- 社区团购
@register
class CommunityGroupBuy(Mechanism):
    """Community group-buy (社区团购) run by group leaders (团长) who earn commission."""
    outside_window = frozenset({"end_day", "on_orders", "ration"})
    option = "community_groupbuy"
    settings = CommunityGroupBuyConfig
    feature = "community_groupbuy"  # the platform must offer it (platform.social_features)

    family = "team_purchase"
    return_channel = "team"
    DAILY = ("team_leader_posts", "team_leader_reach", "team_groupbuy_orders", "team_groupbuy_gmv",
             "team_leader_commission")

    def __init__(self, key, cfg: CommunityGroupBuyConfig, model, index):
        super().__init__(key, cfg, model, index)
        n = model.n
        self.on_sale = product_mask(key, cfg.products, model.catalogue.size)
        net = model.network
        self.leaders = self._choose_leaders(net)
        self.is_leader = np.zeros(n, dtype=bool)
        self.is_leader[self.leaders] = True
        # audience[i] = the leaders (column = position in self.leaders) whose posts reach i:
        # its friends among the leaders, in its own community where there are communities.
        if net.adjacency is None:
            self.audience = None
        else:
            rows = net.adjacency[self.leaders].tocoo()  # leader position x friend
            keep = np.ones(rows.nnz, dtype=bool)
            if net.community is not None:
                keep = net.community[rows.col] == net.community[self.leaders[rows.row]]
            self.audience = sp.csr_matrix(
                (np.ones(int(keep.sum()), dtype=np.float32), (rows.col[keep], rows.row[keep])),
                shape=(n, len(self.leaders)))
            self.audience.sort_indices()
        self.leader_of = np.full(n, -1, dtype=np.int64)  # leader who last reached each consumer
        self.reached_day = np.full(n, -1, dtype=np.int32)  # day of that reach (-1 never)
        self.offer_leader = np.full(n, -1, dtype=np.int64)  # today: visitor got the deal from this leader
        self._offered: np.ndarray = np.zeros(0, dtype=np.int64)
        self.gmv_cents = 0
        self.commission_cents = 0

    def _choose_leaders(self, net) -> np.ndarray:
        """The ceil(``leader_share`` x N) highest-degree consumers (ties to the lower index):
        a share of N, so that leaders per capita do not change with the population size.
        Where there are communities, a leader's deal stays in its own community."""
        n, deg = net.n, net.degree.astype(np.int64)
        k = min(n, max(1, math.ceil(self.cfg.leader_share * n)))
        return np.sort(np.lexsort((np.arange(n), -deg))[:k])

    @property
    def active_deal(self) -> bool:
        """Zero intensity (no discount, no commission): leaders have nothing to post."""
        return self.cfg.groupbuy_discount > 0 or self.cfg.leader_commission > 0

    def outreach(self, model) -> None:
        cfg, c, n = self.cfg, model.consumers, model.n
        if not self.active_deal or (model.day - cfg.start_day) % cfg.post_every_days:
            return
        n_leaders = len(self.leaders)
        if self.audience is None:  # complete graph: every other leader
            k = n_leaders - self.is_leader.astype(np.int64)
        else:
            k = np.diff(self.audience.indptr).astype(np.int64)
        p_reach = 1.0 - (1.0 - cfg.reach_prob) ** k
        u_reach, u_leader, u_visit = self.rng.random(n), self.rng.random(n), self.rng.random(n)
        reached = np.flatnonzero((u_reach < p_reach) & ~c.churned)
        reached = reached[self.targeted(model, reached)]
        self.count("team_leader_posts", n_leaders)
        self.count("team_leader_reach", len(reached))
        if not len(reached):
            return
        # which leader reached it: uniform among the leaders whose posts reach it
        kr = k[reached]
        pick = np.minimum((u_leader[reached] * kr).astype(np.int64), kr - 1)
        if self.audience is None:  # every leader but itself (leaders are sorted: skip its own position)
            own_pos = np.searchsorted(self.leaders, reached)
            pick = np.where(self.is_leader[reached] & (pick >= own_pos), pick + 1, pick)
            leader = self.leaders[pick]
        else:
            leader = self.leaders[self.audience.indices[self.audience.indptr[reached] + pick]]
        self.leader_of[reached] = leader
        self.reached_day[reached] = model.day
        model.make_aware(reached, SOURCE_TEAM)
        model.visit_boost[reached[u_visit[reached] < cfg.visit_prob]] = True

    def adjust_offer(self, model, offer) -> None:
        cfg, who = self.cfg, offer.who
        if not self.active_deal:
            return
        since = model.day - self.reached_day[who]
        mask = ((self.reached_day[who] > 0) & (since < cfg.pickup_days) & self.on_sale[offer.product]
                & (offer.deferred < 0))
        if not mask.any():
            return
        mask &= self.targeted(model, who)
        if cfg.groupbuy_discount > 0:
            cents = np.round(offer.value_cents * cfg.groupbuy_discount).astype(np.int64)
            offer.add_discount(self.key, cents, where=mask)
        self._offered = who[mask]
        self.offer_leader[self._offered] = self.leader_of[self._offered]

    def ration(self, model, offer, buy) -> np.ndarray:
        lost = super().ration(model, offer, buy)
        if lost.any():
            self.offer_leader[offer.who[lost]] = -1
        return lost

    def sold_through(self, model, orders) -> np.ndarray:
        """Today's deal visitors' solo orders (as ``on_orders`` counts them)."""
        if orders.channel != "solo" or not len(self._offered):
            return np.zeros(len(orders.who), dtype=bool)
        return self.offer_leader[orders.who] >= 0

    def on_orders(self, model, orders) -> None:
        """Solo orders of today's deal visitors: group-buy orders, commission to their leader."""
        if orders.channel != "solo" or not len(self._offered):
            return
        leader = self.offer_leader[orders.who]
        mine = leader >= 0
        if not mine.any():
            return
        leader = leader[mine]
        value = orders.value_cents[mine]
        paid = value - orders.discount_cents[mine]
        self.gmv_cents += int(value.sum())
        self.count("team_groupbuy_orders", int(mine.sum()))
        self.count("team_groupbuy_gmv", int(value.sum()) / 100)
        self.count("groupbuy_new_customers", int(orders.new_customer[mine].sum()))
        self.offer_leader[orders.who[mine]] = -1
        if self.cfg.leader_commission > 0:
            commission = np.round(paid * self.cfg.leader_commission).astype(np.int64)
            ok = self.pay(model, leader, commission, "leader_commission")
            total = int(commission[ok].sum())
            self.commission_cents += total
            self.count("team_leader_commission", total / 100)

    def end_day(self, model) -> None:
        if len(self._offered):
            self.offer_leader[self._offered] = -1
            self._offered = np.zeros(0, dtype=np.int64)

    def summary(self, model) -> dict:
        t = self.totals
        return {
            "groupbuy_leaders": len(self.leaders),
            "groupbuy_reached": int((self.reached_day > 0).sum()),
            "groupbuy_orders": int(t.get("team_groupbuy_orders", 0)),
            "groupbuy_gmv": self.gmv_cents / 100,
            "groupbuy_new_customers": int(t.get("groupbuy_new_customers", 0)),
            "leader_commission": self.commission_cents / 100,
        }
