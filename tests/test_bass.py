"""Bass (1969) as an exact special case of the model."""

import numpy as np
import pytest

from conftest import bass_config
from sim.model import MarketModel


def bass_recurrence(p: float, q: float, days: int) -> np.ndarray:
    """F_{t+1} = F_t + (1 - F_t)(p + q F_t), F_0 = 0; returns F_1..F_days."""
    f = [0.0]
    for _ in range(days):
        f.append(f[-1] + (1 - f[-1]) * (p + q * f[-1]))
    return np.array(f[1:])


@pytest.mark.parametrize("p, q", [(0.01, 0.3), (0.03, 0.38)])
def test_complete_graph_follows_the_discrete_bass_recurrence(p, q):
    n, days = 20_000, 60
    curves = [MarketModel(bass_config(n, p, q, days, seed)).run().metrics.frame()["adopters"].to_numpy() / n
              for seed in range(4)]
    mean = np.mean(curves, axis=0)
    assert np.abs(mean - bass_recurrence(p, q, days)).max() < 0.01


def test_one_purchase_per_consumer_and_no_campaign_money():
    model = MarketModel(bass_config(5000, 0.02, 0.4, 40, 0)).run()
    orders = model.ledger.to_frame()
    assert orders["consumer"].is_unique
    assert len(orders) == model.summary()["customers"]
    assert orders["discount_cents"].sum() == 0
    price = model.catalogue.list_price_cents[0]
    assert model.ledger.gmv_cents == price * len(orders)


def test_pure_innovation_is_geometric():
    """q = 0: each day a share p of the remaining non-adopters adopts."""
    p, n, days = 0.05, 20_000, 30
    curve = MarketModel(bass_config(n, p, 0.0, days, 3)).run().metrics.frame()["adopters"].to_numpy() / n
    expected = 1 - (1 - p) ** np.arange(1, days + 1)
    assert np.abs(curve - expected).max() < 0.01


def test_bass_law_runs_on_a_sparse_graph_and_is_slower_than_on_the_complete_graph():
    """Same p, q: clustered local contagion on a sparse graph lags the well-mixed curve."""
    complete = MarketModel(bass_config(5000, 0.005, 0.3, 40, 0)).run().metrics.frame()["adopters"]
    sparse = MarketModel(bass_config(5000, 0.005, 0.3, 40, 0,
                                     network={"kind": "watts_strogatz", "mean_degree": 4, "rewire_prob": 0.0})
                         ).run().metrics.frame()["adopters"]
    assert sparse.iloc[-1] < complete.iloc[-1]
    assert sparse.iloc[-1] > 0
