"""Intervals over seeds (experiments/stats.py) against answers computed by hand."""

import math
import statistics

import numpy as np
import pytest

from experiments.stats import band, mean_interval, paired_difference

T_975_4 = 2.7764451051977987  # Student t quantile 0.975 with 4 degrees of freedom (tables)


def test_interval_of_one_to_five_matches_the_t_table():
    iv = mean_interval([1, 2, 3, 4, 5])
    half = T_975_4 * statistics.stdev([1, 2, 3, 4, 5]) / math.sqrt(5)  # 2.776 x 1.5811 / 2.236
    assert half == pytest.approx(1.9632, abs=1e-4)
    assert iv.mean == 3 and iv.n == 5
    assert iv.low == pytest.approx(3 - half, rel=1e-12)
    assert iv.high == pytest.approx(3 + half, rel=1e-12)
    assert iv.half_width == pytest.approx(half, rel=1e-12)
    mean, low, high, n = iv  # unpacks as a plain tuple
    assert (mean, n) == (3, 5)


def test_lower_level_gives_a_narrower_interval():
    wide, narrow = mean_interval([1, 2, 3, 4, 5], 0.95), mean_interval([1, 2, 3, 4, 5], 0.80)
    assert narrow.high - narrow.low < wide.high - wide.low
    with pytest.raises(ValueError):
        mean_interval([1, 2], level=1.0)


def test_missing_values_are_dropped_not_counted_as_zero():
    iv = mean_interval([1, None, 2, float("nan"), 3, 4, 5, float("inf")])
    assert iv == mean_interval([1, 2, 3, 4, 5])
    assert mean_interval([]) is None
    assert mean_interval([None, float("nan")]) is None


def test_one_value_has_a_mean_but_no_interval_and_constants_have_zero_width():
    assert mean_interval([7.5]) == (7.5, None, None, 1)
    assert mean_interval([2.0, 2.0, 2.0]) == (2.0, 2.0, 2.0, 3)


def test_a_scenario_against_itself_is_no_difference():
    a = [10.0, 12.5, 9.0, 11.0, None]
    d = paired_difference(a, list(a))
    assert d.mean == 0 and d.low == 0 and d.high == 0 and d.n == 4
    assert not d.distinguishable


def test_a_constant_shift_is_distinguishable():
    a = [10.0, 12.5, 9.0, 11.0]
    d = paired_difference(a, [x + 0.5 for x in a])
    assert d.mean == pytest.approx(0.5) and d.low == pytest.approx(0.5) and d.high == pytest.approx(0.5)
    assert d.distinguishable
    assert paired_difference(a, [x - 0.5 for x in a]).distinguishable


def test_pairing_removes_the_shared_noise():
    rng = np.random.default_rng(0)
    market = rng.normal(100, 20, size=20)  # seed-to-seed noise both scenarios share
    a = market + rng.normal(0, 1, 20)
    b = market + 3 + rng.normal(0, 1, 20)
    d = paired_difference(a, b)
    assert d.distinguishable and d.low < 3 < d.high
    # unpaired, the two intervals overlap: the shift is lost in the market noise
    ia, ib = mean_interval(a), mean_interval(b)
    assert ia.high > ib.low
    # the paired interval is the t-interval of the differences
    assert d[:4] == pytest.approx(tuple(mean_interval(b - a)))


def test_pairs_use_only_seeds_where_both_are_defined():
    d = paired_difference([1.0, None, 3.0, 4.0], [2.0, 5.0, None, 5.0])
    assert d.n == 2 and d.mean == 1.0
    assert paired_difference([None], [1.0]) is None
    one = paired_difference([1.0], [2.0])
    assert one.n == 1 and one.low is None and not one.distinguishable
    with pytest.raises(ValueError):
        paired_difference([1.0, 2.0], [1.0])


def test_band_is_the_columnwise_interval():
    m = np.array([[1.0, 10.0, np.nan], [2.0, 11.0, 4.0], [3.0, 15.0, np.nan], [4.0, 9.0, np.nan],
                  [5.0, 10.0, np.nan]])
    mean, low, high = band(m)
    for j in range(2):
        iv = mean_interval(m[:, j])
        assert (mean[j], low[j], high[j]) == pytest.approx((iv.mean, iv.low, iv.high))
    assert mean[2] == 4.0 and np.isnan(low[2]) and np.isnan(high[2])
