"""The classic diffusion laws run alone (``agents/laws.py``; docs/model.md, *The classic
diffusion laws*): exact days on hand-made graphs where the law fixes them, shares within
four standard deviations where it draws, and the Goldenberg–cascade identity bit for bit.
Their agreement with NDlib is tests/test_docking.py."""

import numpy as np
import pandas as pd
import pytest

from sim.build import build_config
from sim.errors import ConfigError
from sim.model import MarketModel
from sim.network import NETWORK_KINDS


def law_config(law: str, days: int, network: dict, seed: int = 0, size: int = 2000, market_seed=None, **diffusion):
    return build_config(seed=seed, market_seed=market_seed, days=days, scenario={"name": law, "law": law}, network=network,
                        population={"size": size, "kols": {"count": 0}},
                        market={"merchants": 1, "products_per_merchant": 1}, diffusion=diffusion)


def edge_file(tmp_path, edges, **columns) -> dict:
    path = tmp_path / "ties.csv"
    frame = pd.DataFrame(edges, columns=["source", "target"])
    for name, values in columns.items():
        frame[name] = values
    frame.to_csv(path, index=False)
    return {"kind": "file", "path": str(path)}


def run(law, days, network, **kw):
    return MarketModel(law_config(law, days, network, **kw)).run()


def new_per_day(model) -> np.ndarray:
    return model.metrics.frame()["new_customers"].to_numpy()


def star(leaves: int) -> list[tuple[int, int]]:
    return [(0, k) for k in range(1, leaves + 1)]


def within(count: int, trials: int, p: float) -> bool:
    return abs(count - trials * p) <= 4 * np.sqrt(trials * p * (1 - p))


# ------------------------------------------------------------------ independent cascade
def test_a_cascade_of_probability_one_walks_a_path_one_tie_a_day(tmp_path):
    path = edge_file(tmp_path, [(k, k + 1) for k in range(9)])
    model = run("cascade", 12, path, seed_ids=[0], cascade_probability=1.0)
    assert model.consumers.first_purchase_day.tolist() == list(range(1, 11))
    assert new_per_day(model).tolist() == [1] * 10 + [0, 0]


def test_each_adopter_has_one_chance_per_tie_the_day_after(tmp_path):
    """A star's centre tries each leaf once, on day 2: the leaves it missed stay out."""
    leaves, p = 4000, 0.3
    model = run("cascade", 6, edge_file(tmp_path, star(leaves)), seed_ids=[0], cascade_probability=p)
    new = new_per_day(model)
    assert new[0] == 1 and within(new[1], leaves, p)
    assert new[2:].tolist() == [0, 0, 0, 0]


def test_several_new_adopters_give_one_chance_each(tmp_path):
    """K_{3,m}: three seeds each try every one of m consumers: 1 − (1 − p)³ adopt on day 2."""
    m, p = 6000, 0.2
    edges = [(a, 3 + b) for a in range(3) for b in range(m)]
    new = new_per_day(run("cascade", 4, edge_file(tmp_path, edges), seed_ids=[0, 1, 2], cascade_probability=p))
    assert new[0] == 3 and within(new[1], m, 1 - (1 - p) ** 3)
    assert new[2:].tolist() == [0, 0]


def test_a_file_graph_gives_each_tie_its_own_probability(tmp_path):
    """Probability 1 activates, 0 never; a tie listed twice keeps its largest (leaf 4)."""
    edges = star(6) + [(4, 0)]
    net = edge_file(tmp_path, edges, probability=[1, 1, 1, 0, 0, 0, 1])
    days = run("cascade", 5, net, seed_ids=[0], cascade_probability=0.5).consumers.first_purchase_day
    assert days.tolist() == [1, 2, 2, 2, 2, -1, -1]


def test_a_bad_tie_probability_is_refused_naming_the_row(tmp_path):
    net = edge_file(tmp_path, star(3), probability=[0.5, 1.5, 0.1])
    with pytest.raises(ConfigError, match=r"network\.path.*tie probability '?1\.5'? at row 2"):
        run("cascade", 3, net, seed_ids=[0])


def test_seed_share_seeds_the_floor_of_share_times_n_from_the_dynamics_stream():
    net = {"kind": "erdos_renyi", "mean_degree": 6}
    a, b = (MarketModel(law_config("cascade", 1, net, seed=s, market_seed=3, seed_share=0.0129)) for s in (1, 2))
    assert len(a.law.seeds) == len(b.law.seeds) == 25  # floor(0.0129 x 2000 = 25.8)
    assert not np.array_equal(a.law.seeds, b.law.seeds)  # same market, other dynamics: other seeds
    assert len(MarketModel(law_config("cascade", 1, net, seed_share=1e-6)).law.seeds) == 1  # at least one


# ------------------------------------------------------------------ linear threshold
def threshold_graph(tmp_path) -> dict:
    # 0's friends: 1, 2, 3, 4; 2's: 0, 5; 3's and 4's: 0 only. Seeds 1 and 5.
    return edge_file(tmp_path, [(0, 1), (0, 2), (0, 3), (0, 4), (2, 5)])


def test_a_threshold_is_reached_when_the_share_of_friends_equals_it(tmp_path):
    """θ = 0.5: 2 adopts on day 2 (1 of 2 friends), 0 on day 3 (2 of 4), 3 and 4 on day 4."""
    days = run("threshold", 6, threshold_graph(tmp_path), seed_ids=[1, 5], threshold=0.5).consumers
    assert days.first_purchase_day.tolist() == [3, 1, 2, 4, 4, 1]


def test_a_threshold_above_every_share_stops_at_the_seeds(tmp_path):
    days = run("threshold", 6, threshold_graph(tmp_path), seed_ids=[1, 5], threshold=0.51).consumers
    assert days.first_purchase_day.tolist() == [-1, 1, -1, -1, -1, 1]


def test_null_threshold_draws_each_consumer_its_own_uniformly():
    net = {"kind": "barabasi_albert", "mean_degree": 6}
    laws = [MarketModel(law_config("threshold", 1, net, seed=s, market_seed=0, size=20_000, threshold=None)).law
            for s in (0, 0, 1)]
    t = laws[0].threshold
    assert np.array_equal(t, laws[1].threshold) and not np.array_equal(t, laws[2].threshold)
    assert t.min() >= 0 and t.max() < 1 and abs(t.mean() - 0.5) < 0.01
    assert abs(np.mean(t < 0.25) - 0.25) < 0.015


# ------------------------------------------------------------------ Goldenberg, Libai & Muller
def test_goldenberg_adopters_talk_for_talking_days(tmp_path):
    """The centre of a star talks on days 2..T + 1: its leaves adopt with 1 − (1 − β)^T, then none."""
    leaves, beta, talking = 5000, 0.2, 3
    new = new_per_day(run("goldenberg", 7, edge_file(tmp_path, star(leaves)), seed_ids=[0], innovation=0.0,
                          strong_tie=beta, weak_tie=beta, talking_days=talking))
    assert within(new[1:4].sum(), leaves, 1 - (1 - beta) ** talking)
    assert within(new[1], leaves, beta) and new[3] > 0
    assert new[4:].tolist() == [0, 0, 0]


def test_goldenberg_with_advertising_alone_is_geometric():
    alpha, n, days = 0.05, 20_000, 30
    model = run("goldenberg", days, {"kind": "erdos_renyi", "mean_degree": 8}, size=n, seed_share=0.0,
                innovation=alpha, strong_tie=0.0, weak_tie=0.0)
    curve = model.metrics.frame()["adopters"].to_numpy() / n
    assert np.abs(curve - (1 - (1 - alpha) ** np.arange(1, days + 1))).max() < 0.01


def test_goldenberg_tells_strong_ties_from_weak(tmp_path):
    """Strong ties (strength 1) at β_s, weak at β_w: the centre's leaves by the strength of their tie."""
    leaves = 6000
    net = edge_file(tmp_path, star(leaves), strength=["strong"] * (leaves // 2) + ["weak"] * (leaves // 2))
    days = run("goldenberg", 3, net, seed_ids=[0], innovation=0.0, strong_tie=0.4, weak_tie=0.1).consumers
    adopted = days.first_purchase_day[1:] == 2
    assert within(adopted[: leaves // 2].sum(), leaves // 2, 0.4)
    assert within(adopted[leaves // 2:].sum(), leaves // 2, 0.1)


@pytest.mark.parametrize("network, p", [({"kind": "barabasi_albert", "mean_degree": 8, "strong_share": 0.3}, 0.08),
                                        ({"kind": "complete"}, 0.0005)])
def test_goldenberg_with_one_talking_day_and_no_advertising_is_the_independent_cascade(network, p):
    """Bit for bit: the same seeds, the same uniforms, the same hazard."""
    cascade = run("cascade", 25, network, seed=4, size=3000, cascade_probability=p)
    glm = run("goldenberg", 25, network, seed=4, size=3000, innovation=0.0, talking_days=1, strong_tie=p, weak_tie=p)
    assert cascade.metrics.frame().equals(glm.metrics.frame())
    assert np.array_equal(cascade.consumers.first_purchase_day, glm.consumers.first_purchase_day)
    assert 100 < cascade.summary()["customers"] < 3000  # it spread, not to everyone
    longer = run("goldenberg", 25, network, seed=4, size=3000, innovation=0.0, talking_days=2, strong_tie=p,
                 weak_tie=p)
    assert longer.summary()["customers"] > cascade.summary()["customers"]


# ------------------------------------------------------------------ all three
@pytest.mark.parametrize("law", ["cascade", "threshold", "goldenberg"])
@pytest.mark.parametrize("kind", [k for k in NETWORK_KINDS if k != "file"])
def test_every_law_runs_on_every_network_kind(law, kind):
    model = run(law, 12, {"kind": kind}, seed=1, size=1500, threshold=0.2)
    frame = model.metrics.frame()
    assert frame["new_customers"].iloc[0] >= 15  # floor(0.01 x 1500) seeds
    assert (frame["adopters"].diff().dropna() >= 0).all()
    orders = model.ledger.to_frame()
    assert orders["consumer"].is_unique and len(orders) == model.n_adopters  # one purchase each
    assert model.n_churned == 0


def test_seed_ids_are_a_file_networks_own_node_ids(tmp_path):
    net = edge_file(tmp_path, [(100, 205), (205, 310)])
    model = run("cascade", 4, net, seed_ids=[310], cascade_probability=1.0)
    assert model.consumers.first_purchase_day.tolist() == [3, 2, 1]  # 100, 205, 310
    with pytest.raises(ConfigError, match=r"diffusion\.seed_ids.*node 7 is not in the network file"):
        run("cascade", 4, net, seed_ids=[7])
    with pytest.raises(ConfigError, match=r"diffusion\.seed_ids.*consumer 5000 does not exist: ids are 0\.\.1999"):
        run("cascade", 4, {"kind": "erdos_renyi"}, seed_ids=[5000])


@pytest.mark.parametrize("diffusion, key", [
    ({"threshold": 1.5}, "diffusion.threshold"),
    ({"talking_days": 0}, "diffusion.talking_days"),
    ({"cascade_probability": -0.1}, "diffusion.cascade_probability"),
    ({"seed_share": 0.0}, "diffusion.seed_share"),
    ({"seed_ids": ["a"]}, "diffusion.seed_ids"),
])
def test_bad_law_settings_are_refused_naming_the_key(diffusion, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        law_config("cascade" if key != "diffusion.threshold" else "threshold", 5, {"kind": "erdos_renyi"},
                   **diffusion)
