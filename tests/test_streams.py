"""Counter-based uniforms (``sim.streams.counter_uniforms``): SplitMix64 exactly, uniform,
independent across consumers, days and streams, and common random numbers by construction."""

import numpy as np
import pytest
from scipy import stats

from sim.streams import RandomStreams, counter_uniforms

MASK = (1 << 64) - 1
GAMMA = 0x9E3779B97F4A7C15


def splitmix64(state: int, count: int) -> list[float]:
    """The reference generator, written out in Python integers (Steele, Lea & Flood 2014)."""
    out = []
    for _ in range(count):
        state = (state + GAMMA) & MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        z ^= z >> 31
        out.append((z >> 11) / 2.0**53)
    return out


def mix(z: int) -> int:
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def test_consumer_i_gets_output_i_plus_1_of_splitmix64_from_the_days_state():
    key, day = 0xFEDCBA9876543210, 41
    expected = splitmix64(mix((key + day * GAMMA) & MASK), 6)
    assert counter_uniforms(key, day, np.arange(6)).tolist() == expected
    assert counter_uniforms(key, day, np.array([5, 0, 3])).tolist() == [expected[5], expected[0], expected[3]]


def test_a_consumers_number_does_not_depend_on_who_else_is_drawn():
    streams = RandomStreams(3)
    everyone = streams.uniform_at("review", 7, np.arange(50_000))
    some = np.array([49_999, 17, 17, 20_000, 0])
    assert np.array_equal(streams.uniform_at("review", 7, some), everyone[some])
    assert streams.uniform_at("review", 7, np.array([], dtype=np.int64)).shape == (0,)
    # the same seed, stream and day in another model: the same numbers
    assert np.array_equal(RandomStreams(3).uniform_at("review", 7, some), everyone[some])


def test_uniform_on_the_unit_interval_and_independent_across_days_streams_seeds():
    n = 200_000
    who = np.arange(n)
    draws = {
        "base": RandomStreams(11).uniform_at("wom", 5, who),
        "next day": RandomStreams(11).uniform_at("wom", 6, who),
        "other stream": RandomStreams(11).uniform_at("returns", 5, who),
        "other seed": RandomStreams(12).uniform_at("wom", 5, who),
    }
    for name, u in draws.items():
        assert 0.0 <= u.min() and u.max() < 1.0, name
        assert stats.kstest(u, "uniform").pvalue > 1e-3, name
        assert abs(u.mean() - 0.5) < 4 * (1 / 12 / n) ** 0.5, name
    base = draws.pop("base")
    for name, u in draws.items():
        assert abs(np.corrcoef(base, u)[0, 1]) < 4 / n**0.5, name  # ~N(0, 1/n) when independent
        assert np.mean((base < 0.3) & (u < 0.3)) == pytest.approx(0.09, abs=0.004), name
    # neighbouring consumers: lag-1 correlation and pairs
    assert abs(np.corrcoef(base[:-1], base[1:])[0, 1]) < 4 / n**0.5
    counts = np.histogram2d(base[:-1], base[1:], bins=8, range=[[0, 1], [0, 1]])[0].ravel()
    assert stats.chisquare(counts).pvalue > 1e-3
