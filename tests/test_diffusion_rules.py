"""The rules of issue 10, each on a small graph or market (fast: ``make mutate`` runs
them): the count-based hearing law against its closed form, exposure by tie strength,
reshare cascades frontier by frontier, tie strengths drawn with the graph or read from a
file, and homophily reordering traits without changing them. The market-level
directions (network families, scale, referral value) are in ``test_diffusion.py``."""

from __future__ import annotations

import numpy as np
import pytest

from agents import hearing, talking
from agents.consumers import alike_friends
from sim.build import build_config
from sim.model import MarketModel
from sim.network import FriendsInStates, SocialNetwork, build_network


def run(seed: int, days: int = 60, size: int = 10_000, **groups) -> MarketModel:
    return MarketModel(build_config(seed=seed, days=days, population={"size": size, **groups.pop("population", {})},
                                    **groups)).run()


def test_one_tie_type_is_exactly_the_count_based_law_of_goldenberg_et_al():
    """β_s = β_w = β, no reshares: P(hear) = 1 − (1 − α)(1 − β)^m with m the friends talking."""
    rng = np.random.default_rng(5)
    n = 60
    src, dst = rng.integers(0, n, 400), rng.integers(0, n, 400)
    net = SocialNetwork.from_edges(src, dst, n, strength=rng.random(400) < 0.5)
    talking_now = rng.random(n) < 0.3
    alpha, beta = 0.02, 0.07
    weights = hearing.tie_weights(net.strength, beta, beta)
    exposure = net.weighted_count(talking_now, weights)
    p = 1 - (1 - alpha) * (1 - hearing.word_of_mouth_hazard(exposure, np.ones(n)))
    m = net.neighbour_count(talking_now)
    assert np.allclose(p, 1 - (1 - alpha) * (1 - beta) ** m, rtol=0, atol=1e-12)
    # two strengths: strong and weak talking friends counted apart
    strong = hearing.tie_weights(net.strength, 0.2, 0.05)
    both = hearing.word_of_mouth_hazard(net.weighted_count(talking_now, strong), np.ones(n))
    a = net.adjacency.copy()
    a.data = net.strength.astype(np.float64)
    m_s = a @ talking_now.astype(float)
    assert np.allclose(both, 1 - 0.8 ** m_s * 0.95 ** (m - m_s), atol=1e-12)


def test_the_model_hears_by_the_law_on_a_small_market():
    """One day's awareness in the model is u < 1 − (1 − α_i)(1 − β)^{m_i}, exactly."""
    flat = {"dist": "constant", "value": 0.5}
    model = MarketModel(build_config(seed=3, days=5, network={"kind": "erdos_renyi", "mean_degree": 6},
                                     population={"size": 400, "trust_friends": flat, "trust_ads": flat, "homophily": 0.0,
                                                 "kols": {"count": 0}},
                                     diffusion={"strong_tie": 0.1, "weak_tie": 0.1, "reshare": 0.0, "innovation": 0.01}))
    c = model.consumers
    c.wom_sign[:100], c.wom_until[:100] = 1, 10  # 100 promoters talking, all aware
    c.aware[:100] = True
    model.day = 1
    model._reset_today()
    before = c.aware.copy()
    model._phase_awareness()
    m = model.network.neighbour_count(c.wom_until >= 1)
    p = 1 - (1 - 0.01) * (1 - 0.1) ** m
    u = model.uniforms("awareness")
    assert np.array_equal(c.aware[~before], (u < p)[~before])


def test_negative_word_of_mouth_spreads_awareness_too_and_lowers_the_purchase():
    flat = {"dist": "constant", "value": 0.5}
    cfg = dict(days=2, network={"kind": "erdos_renyi"}, diffusion={"innovation": 0.0, "reshare": 0.0},
               population={"size": 2000, "trust_friends": flat, "kols": {"count": 0}})
    model = MarketModel(build_config(seed=1, **cfg))
    c = model.consumers
    c.aware[:300], c.wom_sign[:300], c.wom_until[:300] = True, -1, 10  # 300 warners
    model.step()
    assert c.aware[300:].sum() > 0 and (c.aware_source[300:][c.aware[300:]] == 2).all()  # heard from friends
    positive, negative = model.friends_shares(np.arange(model.n), np.zeros(model.n, np.int64))
    assert (negative > 0).any() and positive.max() == 0


def test_cascades_follow_ties_frontier_by_frontier():
    # a path 0-1-2-3-4 and a star 5-(6..9): certain resharing
    net = SocialNetwork.from_edges([0, 1, 2, 3, 5, 5, 5, 5], [1, 2, 3, 4, 6, 7, 8, 9], 10)
    adj = net.adjacency
    resharers, size, depth = talking.cascades(adj.indptr, adj.indices, np.array([0, 5]), np.zeros(10), 1.0, 1.0)
    assert sorted(resharers.tolist()) == [1, 2, 3, 4, 6, 7, 8, 9]
    assert size.tolist() == [5, 5] and depth.tolist() == [4, 1]
    # the probability decays by step: only the first step reshares
    resharers, size, depth = talking.cascades(adj.indptr, adj.indices, np.array([0]), np.full(10, 0.5), 0.6, 0.5)
    assert resharers.tolist() == [1] and size.tolist() == [2] and depth.tolist() == [1]
    # nobody reshares: cascades of one
    _, size, depth = talking.cascades(adj.indptr, adj.indices, np.array([0, 5]), np.ones(10), 0.5, 1.0)
    assert size.tolist() == [1, 1] and depth.tolist() == [0, 0]


def test_tie_strength_is_drawn_with_the_graph():
    rng = np.random.default_rng(0)
    cfg = build_config(population={"size": 2000}).network
    sbm = build_network(build_config(network={"kind": "sbm"}).network, 2000, rng)
    a = sbm.adjacency.tocoo()
    within = sbm.community[a.row] == sbm.community[a.col]
    assert np.array_equal(sbm.strength == 1, within)
    for kind in ("barabasi_albert", "erdos_renyi"):
        net = build_network(build_config(network={"kind": kind}).network, 2000, rng)
        assert abs(net.strong_share - cfg.strong_share) < 0.02
    ws = build_network(build_config(network={"kind": "watts_strogatz", "rewire_prob": 0.5}).network, 2000, rng)
    w = ws.adjacency.tocoo()
    lattice = np.minimum(abs(w.row - w.col), 2000 - abs(w.row - w.col)) <= 5
    assert ws.strength[lattice].mean() > 0.5 > ws.strength[~lattice].mean()  # embedded ties first
    hk = build_network(build_config(network={"kind": "holme_kim", "triad_prob": 0.8}).network, 2000, rng)
    assert 0.2 < hk.strong_share < 0.9


def test_a_file_can_give_tie_strengths(tmp_path):
    path = tmp_path / "ties.csv"
    path.write_text("source,target,strength\n1,2,strong\n2,3,weak\n3,4,0.25\n4,1,1\n2,1,weak\n")
    model = MarketModel(build_config(days=2, network={"kind": "file", "path": str(path)}, population={"kols": {"count": 0}}))
    net = model.network
    s = dict(zip(zip(*net.adjacency.tocoo().nonzero()), net.strength.tolist()))
    assert s[(0, 1)] == s[(1, 0)] == 1.0  # ids 1,2: strong (listed twice: the strongest kept)
    assert s[(1, 2)] == 0.0 and s[(2, 3)] == pytest.approx(0.25) and s[(0, 3)] == 1.0
    bad = tmp_path / "bad.csv"
    bad.write_text("source,target,strength\n1,2,close\n")
    from sim.errors import ConfigError

    with pytest.raises(ConfigError, match="tie strength 'close' at row 1"):
        MarketModel(build_config(days=2, network={"kind": "file", "path": str(bad)}))


def test_traits_keep_their_distribution_under_homophily():
    a, b = run(2, days=1, population={"homophily": 0.0}), run(2, days=1, population={"homophily": 0.7})
    for trait in a.consumers.TRAITS:
        assert np.array_equal(np.sort(getattr(a.consumers, trait)), np.sort(getattr(b.consumers, trait)))


@pytest.mark.parametrize("asked", [5, 150])
def test_exposure_pulled_for_a_few_consumers_equals_the_pushed_sums(asked):
    """``weighted_count(mask, w, idx)`` pulls from the rows of ``idx`` when they hold fewer
    ties than the talkers' rows, and must give the same sums as pushing from the talkers."""
    rng = np.random.default_rng(11)
    n = 200
    net = SocialNetwork.from_edges(rng.integers(0, n, 1500), rng.integers(0, n, 1500), n,
                                   strength=rng.random(1500))
    weights = hearing.tie_weights(net.strength, 0.3, 0.05)
    mask = rng.random(n) < 0.4
    idx = np.sort(rng.choice(n, asked, replace=False))
    pushed = net.weighted_count(mask, weights)
    by_hand = np.array([sum(weights[k] for k in range(net.adjacency.indptr[i], net.adjacency.indptr[i + 1])
                            if mask[net.adjacency.indices[k]]) for i in range(n)])
    np.testing.assert_allclose(pushed, by_hand, rtol=1e-12)
    np.testing.assert_allclose(net.weighted_count(mask, weights, idx), by_hand[idx], rtol=1e-12)


@pytest.mark.parametrize("kind", ["sbm", "erdos_renyi"])
def test_friends_are_alike_and_more_so_as_homophily_grows(kind):
    """The correlation of a trait between friends: about 0 without homophily, and growing
    with ``population.homophily`` (by community on the SBM, by smoothing without)."""
    net = build_network(build_config(network={"kind": kind}).network, 4000, np.random.default_rng(1))
    a = net.adjacency.tocoo()
    values = np.random.default_rng(2).lognormal(size=4000)
    corr = {}
    for h in (0.0, 0.4, 0.8):
        alike = alike_friends(values, net, h, np.random.default_rng(3))
        assert np.array_equal(np.sort(alike), np.sort(values))
        ranks = np.argsort(np.argsort(alike))
        corr[h] = np.corrcoef(ranks[a.row], ranks[a.col])[0, 1]
    assert abs(corr[0.0]) < 0.05 and corr[0.0] + 0.05 < corr[0.4] < corr[0.8], corr
    if kind == "sbm":
        assert corr[0.8] > 0.6, corr


def test_tie_weights_stay_finite_for_certain_ties():
    """β = 1 is held at 1 − 10⁻¹²: a finite weight, and hearing from such a friend all but sure."""
    np.testing.assert_allclose(hearing.tie_weights(None, 1.0, 1.0), -np.log(1e-12), rtol=1e-3)
    w = hearing.tie_weights(np.array([0.0, 1.0], dtype=np.float32), 1.0, 0.5)
    assert np.isfinite(w).all() and w[1] == pytest.approx(-np.log(1e-12), rel=1e-3) and w[0] == pytest.approx(np.log(2))


def _latent_by_hand(values, net, h, rng):
    """The documented latent score, step by step (docs/model.md, *Homophily*)."""
    e = rng.standard_normal(len(values))
    if net.community is not None:
        c = rng.standard_normal(int(net.community.max()) + 1)
        z = np.sqrt(h) * c[net.community] + np.sqrt(1 - h) * e
    else:
        z = e
        for _ in range(3):
            deg = np.maximum(np.diff(net.adjacency.indptr), 1)
            z = (1 - h) * e + h * (net.adjacency @ z) / deg
    out = np.empty_like(values)
    out[np.argsort(z)] = np.sort(values)  # the largest value to the largest z
    return out


@pytest.mark.parametrize("kind", ["sbm", "erdos_renyi"])
def test_homophily_orders_traits_by_the_documented_latent_score(kind):
    net = build_network(build_config(network={"kind": kind, "community_size": 10}).network, 300,
                        np.random.default_rng(4))
    values = np.random.default_rng(5).lognormal(size=300)
    got, want = np.random.default_rng(6), np.random.default_rng(6)
    for h in (0.3, 0.9):  # two traits in a row from one stream: each draws exactly its own numbers
        np.testing.assert_array_equal(alike_friends(values, net, h, got), _latent_by_hand(values, net, h, want))


def test_consumers_get_alike_friends_only_with_homophily():
    from agents.consumers import Consumers

    cfg = build_config(population={"size": 2000}, network={"kind": "sbm"})
    net = build_network(cfg.network, 2000, np.random.default_rng(1))
    independent = Consumers(2000, cfg.population, np.random.default_rng(2))
    off = Consumers(2000, build_config(population={"size": 2000, "homophily": 0.0}).population,
                    np.random.default_rng(2), net, np.random.default_rng(3))
    on = Consumers(2000, cfg.population, np.random.default_rng(2), net, np.random.default_rng(3))
    a = net.adjacency.tocoo()
    for trait in Consumers.TRAITS:
        assert np.array_equal(getattr(off, trait), getattr(independent, trait)), trait  # h = 0: today's draws
        x = getattr(on, trait)
        assert x.dtype == np.float64
        if np.ptp(x) > 0:
            assert np.corrcoef(x[a.row], x[a.col])[0, 1] > 0.2, trait  # h = 0.5 on communities: friends alike


def test_cascade_edge_cases():
    """Certain resharing on a path of 70: the cascade stops at depth 64. No origins: nothing.
    A friend of two posters joins the first cascade only, once. u = p does not reshare."""
    path = SocialNetwork.from_edges(np.arange(69), np.arange(1, 70), 70).adjacency
    resharers, size, depth = talking.cascades(path.indptr, path.indices, np.array([0]), np.zeros(70), 1.0, 1.0)
    assert depth.tolist() == [64] and size.tolist() == [65] and sorted(resharers.tolist()) == list(range(1, 65))
    assert size.dtype == depth.dtype == resharers.dtype == np.int64
    resharers, size, depth = talking.cascades(path.indptr, path.indices, np.zeros(0, np.int64), np.zeros(70), 1.0, 1.0)
    assert len(resharers) == len(size) == len(depth) == 0 and resharers.dtype == np.int64
    diamond = SocialNetwork.from_edges([0, 2, 1], [1, 1, 3], 4).adjacency  # 0 - 1 - 2, 1 - 3
    resharers, size, depth = talking.cascades(diamond.indptr, diamond.indices, np.array([0, 2]), np.zeros(4), 1.0, 1.0)
    assert resharers.tolist() == [1, 3] and size.tolist() == [3, 1] and depth.tolist() == [2, 0]
    resharers, size, _ = talking.cascades(diamond.indptr, diamond.indices, np.array([0]), np.full(4, 0.5), 0.5, 1.0)
    assert len(resharers) == 0 and size.tolist() == [1]
    # u = p at a later step does not reshare either: 1 reshares at step 1 (p 0.5), 2 draws the step-2 p of 0.25
    resharers, size, _ = talking.cascades(path.indptr, path.indices, np.array([0]), np.r_[0.0, 0.0, 0.25, np.zeros(67)],
                                          0.5, 0.5)
    assert resharers.tolist() == [1] and size.tolist() == [2]


def cascades_by_hand(adj, origins, u, reshare, decay, max_depth=64):
    """The cascade rule as written: breadth first, every friend reached once a day (resharing
    or not) by the first post that gets to it, in the order of the ties."""
    reached, size, depth, resharers = set(origins.tolist()), [1] * len(origins), [0] * len(origins), []
    frontier = [(int(o), k) for k, o in enumerate(origins)]
    for step in range(1, max_depth + 1):
        p, after = reshare * decay ** (step - 1), []
        for consumer, k in frontier:
            for friend in adj.indices[adj.indptr[consumer]:adj.indptr[consumer + 1]].tolist():
                if friend not in reached:
                    reached.add(friend)
                    if u[friend] < p:
                        after.append((friend, k))
                        resharers.append(friend)
                        size[k], depth[k] = size[k] + 1, step
        frontier = after
    return resharers, size, depth


@pytest.mark.parametrize("decay", [1.0, 0.9, 0.5, 0.0])
def test_cascades_equal_the_rule_written_friend_by_friend(decay):
    """Only resharers are remembered as reached (a friend who passes once never reshares
    later, since the chance never grows): the same cascades as reaching everyone once."""
    rng = np.random.default_rng(int(decay * 10))
    for n, ties, posts in ((60, 150, 3), (400, 2400, 25), (400, 600, 40)):
        adj = SocialNetwork.from_edges(rng.integers(0, n, ties), rng.integers(0, n, ties), n).adjacency
        origins, u = rng.choice(n, posts, replace=False), rng.random(n)
        got = talking.cascades(adj.indptr, adj.indices, origins, u, 0.5, decay)
        want = cascades_by_hand(adj, origins, u, 0.5, decay)
        assert got[0].tolist() == want[0] and got[1].tolist() == want[1] and got[2].tolist() == want[2]
        assert len(want[0]) > 0


def test_a_kept_cascade_scratch_gives_the_same_cascades_and_is_left_clean():
    rng = np.random.default_rng(8)
    net = SocialNetwork.from_edges(rng.integers(0, 300, 1500), rng.integers(0, 300, 1500), 300).adjacency
    scratch = np.zeros(300, dtype=bool)
    for day in range(3):
        origins, u = rng.choice(300, 12, replace=False), rng.random(300)
        fresh = talking.cascades(net.indptr, net.indices, origins, u, 0.4, 0.9)
        kept = talking.cascades(net.indptr, net.indices, origins, u, 0.4, 0.9, scratch=scratch)
        for a, b in zip(fresh, kept):
            np.testing.assert_array_equal(a, b)
        assert not scratch.any()
        assert fresh[1].sum() - len(origins) == len(fresh[0]) > 0


def test_friends_in_states_kept_day_to_day_equal_counting_afresh():
    """The counts pushed by who changed state stay equal to each day's shares counted afresh,
    as consumers start, stop and switch between promoting and warning (and on the complete graph)."""
    rng = np.random.default_rng(13)
    net = SocialNetwork.from_edges(rng.integers(0, 300, 1200), rng.integers(0, 300, 1200), 302)  # 2 friendless
    complete = SocialNetwork(n=40, kind="complete", adjacency=None, degree=np.full(40, 39, np.int32))
    for network in (net, complete):
        kept, everyone = FriendsInStates(network, 2), np.arange(network.n)
        for day, share_talking in enumerate((0.2, 0.7, 0.05, 0.0, 0.5, 0.5)):
            talking_today = rng.random(network.n)
            promoters = talking_today < share_talking * 0.8
            warners = (talking_today >= share_talking * 0.8) & (talking_today < share_talking)
            kept.update(promoters, warners)
            for got, mask in zip(kept.shares(everyone), (promoters, warners)):
                np.testing.assert_array_equal(got, network.neighbour_share(mask))
            subset = rng.choice(network.n, 7)
            for got, mask in zip(kept.shares(subset), (promoters, warners)):
                np.testing.assert_array_equal(got, network.neighbour_share(mask)[subset])
