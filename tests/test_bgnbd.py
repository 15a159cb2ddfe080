"""The BG/NBD baseline's simulated holdout (experiments/calibration/bgnbd.py) against the
model's own closed forms (Fader, Hardie & Lee 2005, eq. 10; P(alive), Fader, Hardie & Lee
2008), and its active-customer count on hand-made purchases. The library fit itself is
tested in tests/test_calibrate_slow.py (it needs pymc-marketing)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import hyp2f1

from experiments.calibration.bgnbd import Posterior, active_in_holdout, simulate_holdout

#: CDNOW's published fit (per week), in days.
R, ALPHA, A, B = 0.243, 4.414 * 7, 0.793, 2.426
#: Customers' histories (repeat purchases x, recency t_x, age T), days.
HISTORY = np.array([(0, 0, 200), (1, 30, 200), (4, 180, 210), (10, 250, 260), (3, 20, 260)], dtype=float)


def p_alive(x, t_x, T):
    return np.where(x == 0, 1.0, 1 / (1 + (x > 0) * A / (B + x - 1) * ((ALPHA + T) / (ALPHA + t_x)) ** (R + x)))


def expected_purchases(x, t_x, T, t):
    """E[X(T, T + t] | x, t_x, T]: eq. 10 of Fader, Hardie & Lee (2005)."""
    num = (A + B + x - 1) / (A - 1) * (1 - ((ALPHA + T) / (ALPHA + T + t)) ** (R + x)
                                        * hyp2f1(R + x, B + x, A + B + x - 1, t / (ALPHA + T + t)))
    return num / (1 + (x > 0) * A / (B + x - 1) * ((ALPHA + T) / (ALPHA + t_x)) ** (R + x))


def posterior():
    x, t_x, T = HISTORY.T
    return Posterior(p_alive(x, t_x, T), R + x, ALPHA + T, A, B + x)


def test_simulated_purchases_have_the_closed_form_expectation():
    runs, horizon = 20_000, 90
    run, cust, day = simulate_holdout(posterior(), horizon, runs, seed=3)
    assert day.min() >= 0 and day.max() < horizon
    x, t_x, T = HISTORY.T
    for t in (7, 30, 90):
        counts = np.bincount(cust[day < t], minlength=len(HISTORY)) / runs
        per_run = np.zeros((runs, len(HISTORY)))
        np.add.at(per_run, (run[day < t], cust[day < t]), 1)
        se = per_run.std(axis=0) / np.sqrt(runs)
        expected = expected_purchases(x, t_x, T, t)
        assert np.all(np.abs(counts - expected) < 4 * se + 1e-9), (t, counts, expected)


def test_simulated_customers_are_alive_at_their_p_alive():
    """A customer who buys in the holdout was alive; with a long horizon nearly every alive
    customer buys, so the share who buy approaches P(alive) from below."""
    post = Posterior(np.array([0.2, 0.7, 1.0]), np.full(3, 50.0), np.full(3, 10.0), 1.0, np.full(3, 1e6))
    run, cust, _ = simulate_holdout(post, 30, 10_000, seed=1)  # λ = 5 a day, no dropout: all alive buy
    share = np.array([len(np.unique(run[cust == c])) for c in range(3)]) / 10_000
    assert share == pytest.approx([0.2, 0.7, 1.0], abs=0.015)


def test_active_customers_count_the_history_and_the_simulated_purchases():
    # two runs, three customers; the calibration ends on day 100 (the holdout's first day)
    last = np.array([99, 75, 40])  # bought 1, 25 and 60 days before the holdout
    events = (np.array([0, 0, 1]), np.array([2, 2, 1]), np.array([3, 10, 0]))  # (run, customer, holdout day)
    active = active_in_holdout(events, 2, last, 100, 40)
    # customer 0 is active to holdout day 28 (its day 99 + 30), customer 1 to day 4 (75 + 30 = 105);
    # run 0: customer 2 buys on days 3 and 10, so is active on days 3..39; run 1: customer 1 on day 0..29
    expect0 = (np.arange(40) <= 28).astype(int) + (np.arange(40) <= 4) + (np.arange(40) >= 3)
    expect1 = (np.arange(40) <= 28).astype(int) + (np.arange(40) <= 29)
    assert active[0].tolist() == expect0.tolist()
    assert active[1].tolist() == expect1.tolist()
