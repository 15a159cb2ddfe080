"""The cascade and threshold laws docked against NDlib (``experiments/docking.py``;
docs/validation.md, *The classic laws against NDlib*): on the same graph with the same
seed share, the model's mean adopter share per step agrees with NDlib's within four
standard errors of the difference at every step, and a wrong law does not.

``make test`` docks one setting of each law on one graph (120 runs a side); ``make test-slow``
docks every setting on BA, ER and WS at 300 runs a side, where the standard error of
each mean is about 0.01 or less."""

import numpy as np
import pytest

from experiments.docking import DOCKED, GRAPHS, TOLERANCE_Z, Docked, docking, wrong_law

#: make test: one setting of each law on one graph (each took about a minute; the slow suite docks all 12)
QUICK = {"cascade_p25": "barabasi_albert", "threshold_15": "erdos_renyi"}


def assert_docks(name, graph, runs, max_se):
    right = docking(name, graph, runs)
    assert right.model[0] == right.ndlib[0] == pytest.approx(0.02)  # the same seed share, exactly
    assert np.abs(right.z).max() <= TOLERANCE_Z, (name, graph, right.z.round(2).tolist())
    assert max(right.model_se.max(), right.ndlib_se.max()) <= max_se  # the test can see a difference this size
    assert right.model[-1] > 0.03  # it spread beyond the seeds
    label, wrong = wrong_law(name)
    bad = docking(name, graph, runs, wrong=wrong)
    assert np.abs(bad.z).max() > TOLERANCE_Z, (name, graph, label)


def test_z_is_infinite_where_the_means_differ_without_spread():
    flat = np.zeros(3)
    d = Docked(np.array([0.02, 0.5, 0.4]), np.array([0.0, 0.0, 0.01]), np.array([0.02, 0.6, 0.4]), flat, 10)
    assert d.z.tolist() == [0.0, -np.inf, 0.0]


@pytest.mark.parametrize("name", sorted(QUICK))
def test_the_law_docks_with_ndlib_and_a_wrong_law_does_not(name):
    assert_docks(name, QUICK[name], runs=120, max_se=0.025)


@pytest.mark.slow
@pytest.mark.parametrize("graph", sorted(GRAPHS))
@pytest.mark.parametrize("name", sorted(DOCKED))
def test_every_law_docks_on_every_graph(name, graph):
    assert_docks(name, graph, runs=300, max_se=0.015)
