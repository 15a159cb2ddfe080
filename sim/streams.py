"""Named random streams: one numpy Generator per mechanism, all from one seed.

Every draw of the model comes from a child of ``numpy.random.SeedSequence(seed)``.
A child is keyed by the mechanism's name (``spawn_key=(crc32(name),)``), the
same construction ``SeedSequence.spawn`` uses with positional keys, so adding
or switching off a mechanism never shifts the draws of the others (common
random numbers between a run and its baseline).

A phase that touches only a few consumers a day (today's buyers) draws
counter-based uniforms instead (``RandomStreams.uniform_at``): a consumer's number
is a hash of (stream, day, consumer id), so it costs only the consumers drawn and
does not depend on who else is drawn.
"""

from __future__ import annotations

import zlib

import numpy as np


_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15  # SplitMix64's increment (2^64 / golden ratio)


def _mix64(z):
    """SplitMix64's finaliser (Steele, Lea & Flood 2014) on uint64 arrays (wrapping)."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def counter_uniforms(key: int, counter: int, who: np.ndarray) -> np.ndarray:
    """Uniforms on [0, 1), one per id of ``who``: SplitMix64 outputs of the state
    ``mix(key + counter·γ)``, at positions ``who + 1`` (ids >= 0; key, counter < 2^64)."""
    state = int(_mix64(np.array([(key + counter * _GOLDEN) & _MASK], dtype=np.uint64))[0])
    z = np.uint64(state) + (np.asarray(who, dtype=np.uint64) + np.uint64(1)) * np.uint64(_GOLDEN)
    return (_mix64(z) >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


class RandomStreams:
    """``streams["awareness"]`` is the Generator of the awareness phase, and so on."""

    def __init__(self, seed: int):
        self.seed = int(seed)
        self.root = np.random.SeedSequence(self.seed)
        self._generators: dict[str, np.random.Generator] = {}
        self._keys: dict[str, int] = {}

    def seed_sequence(self, name: str) -> np.random.SeedSequence:
        key = zlib.crc32(name.encode("utf-8"))
        return np.random.SeedSequence(self.seed, spawn_key=(key,))

    def key(self, name: str) -> int:
        """Stream ``name``'s 64-bit key for counter-based draws (from its seed sequence)."""
        return int(self.seed_sequence(name).generate_state(1, np.uint64)[0])

    def uniform_at(self, name: str, day: int, who: np.ndarray) -> np.ndarray:
        """Day ``day``'s uniform of each consumer of ``who`` in stream ``name``: the same
        number for a consumer whoever else is drawn (common random numbers), at a cost of
        the consumers drawn, not N."""
        key = self._keys.get(name)
        if key is None:
            key = self._keys[name] = self.key(name)
        return counter_uniforms(key, day, who)

    def __getitem__(self, name: str) -> np.random.Generator:
        gen = self._generators.get(name)
        if gen is None:
            gen = np.random.Generator(np.random.PCG64(self.seed_sequence(name)))
            self._generators[name] = gen
        return gen
