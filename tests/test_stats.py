"""Intervals over seeds (experiments/stats.py, on scipy.stats) against answers computed by hand."""

import math
import statistics

import numpy as np
import pytest
from scipy import stats

from experiments.stats import band, mean_interval, paired_difference

T_975_4 = 2.7764451051977987  # Student t quantile 0.975 with 4 degrees of freedom (tables)
T_95_2 = 2.919985580353724  # Student t quantile 0.95 with 2 degrees of freedom (a 90% interval of 3 values)


def test_interval_of_one_to_five_matches_the_t_table():
    iv = mean_interval([1, 2, 3, 4, 5])
    half = T_975_4 * statistics.stdev([1, 2, 3, 4, 5]) / math.sqrt(5)  # 2.776 x 1.5811 / 2.236
    assert half == pytest.approx(1.9632, abs=1e-4)
    assert iv.mean == 3 and iv.n == 5
    assert iv.low == pytest.approx(3 - half, rel=1e-12) and iv.high == pytest.approx(3 + half, rel=1e-12)
    assert iv.half_width == pytest.approx(half, rel=1e-12)
    mean, low, high, n = iv  # unpacks as a plain tuple
    assert (mean, n) == (3, 5)


def test_a_90_percent_interval_of_three_values_by_hand():
    # 2, 4, 9: mean 5, s = sqrt(((−3)² + (−1)² + 4²) / 2) = sqrt(13), half = t · s / √3
    iv = mean_interval([2, 4, 9], level=0.90)
    half = T_95_2 * math.sqrt(13) / math.sqrt(3)
    assert (iv.mean, iv.n) == (5, 3)
    assert (iv.low, iv.high) == pytest.approx((5 - half, 5 + half), rel=1e-12)
    assert (iv.low, iv.high) == pytest.approx((-1.0784, 11.0784), abs=1e-4)


def test_lower_level_gives_a_narrower_interval():
    wide, narrow = mean_interval([1, 2, 3, 4, 5], 0.95), mean_interval([1, 2, 3, 4, 5], 0.80)
    assert narrow.high - narrow.low < wide.high - wide.low
    for level in (0, 1.0, 1.5):
        with pytest.raises(ValueError):
            mean_interval([1, 2], level=level)


def test_missing_values_are_dropped_not_counted_as_zero():
    assert mean_interval([1, None, 2, float("nan"), 3, 4, 5, float("inf")]) == mean_interval([1, 2, 3, 4, 5])
    assert mean_interval([]) is None
    assert mean_interval([None, float("nan")]) is None


def test_one_value_has_a_mean_but_no_interval_and_constants_have_zero_width():
    assert mean_interval([7.5]) == (7.5, None, None, 1)
    assert mean_interval([2.0, 2.0, 2.0]) == (2.0, 2.0, 2.0, 3)
    assert mean_interval([0.1, 0.1, 0.1]).half_width == 0


def test_a_scenario_against_itself_is_no_difference():
    a = [10.0, 12.5, 9.0, 11.0, None]
    d = paired_difference(a, list(a))
    assert (d.mean, d.low, d.high, d.n) == (0, 0, 0, 4)
    assert not d.distinguishable


def test_a_constant_shift_is_distinguishable():
    a = [10.0, 12.5, 9.0, 11.0]
    d = paired_difference(a, [x + 0.5 for x in a])
    assert (d.mean, d.low, d.high) == pytest.approx((0.5, 0.5, 0.5))
    assert d.distinguishable
    assert paired_difference(a, [x - 0.5 for x in a]).distinguishable


def test_the_paired_interval_is_scipys_paired_t_test():
    rng = np.random.default_rng(0)
    market = rng.normal(100, 20, size=20)  # seed-to-seed noise both scenarios share
    a = market + rng.normal(0, 1, 20)
    b = market + 3 + rng.normal(0, 1, 20)
    d = paired_difference(a, b)
    assert d.distinguishable and d.low < 3 < d.high
    ci = stats.ttest_rel(b, a).confidence_interval(0.95)
    assert (d.low, d.high) == pytest.approx((ci.low, ci.high), rel=1e-12)
    # unpaired, the two intervals overlap: the shift is lost in the market noise
    assert mean_interval(a).high > mean_interval(b).low


def test_pairs_use_only_seeds_where_both_are_defined():
    d = paired_difference([1.0, None, 3.0, 4.0], [2.0, 5.0, None, 5.0])
    assert d.n == 2 and d.mean == 1.0 and d.low == d.high == 1.0
    assert paired_difference([None], [1.0]) is None
    one = paired_difference([1.0], [2.0])
    assert one.n == 1 and one.low is None and not one.distinguishable
    with pytest.raises(ValueError):
        paired_difference([1.0, 2.0], [1.0])


def test_band_is_the_columnwise_interval():
    m = np.array([[1.0, 10.0, np.nan, 3.0], [2.0, 11.0, 4.0, 3.0], [3.0, 15.0, np.nan, 3.0],
                  [4.0, 9.0, np.nan, 3.0], [5.0, 10.0, np.nan, 3.0]])
    mean, low, high = band(m)
    for j in range(2):
        iv = mean_interval(m[:, j])
        assert (mean[j], low[j], high[j]) == pytest.approx((iv.mean, iv.low, iv.high), rel=1e-12)
    assert (low[0], high[0]) == pytest.approx((3 - 1.9632, 3 + 1.9632), abs=1e-4)
    assert mean[2] == 4.0 and np.isnan(low[2]) and np.isnan(high[2])  # one value: no band
    assert (mean[3], low[3], high[3]) == (3.0, 3.0, 3.0)  # no spread: a zero-width band
    mean, low, high = band(np.full((3, 2), np.nan))
    assert np.isnan(mean).all() and np.isnan(low).all()
