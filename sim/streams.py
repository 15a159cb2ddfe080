"""Named random streams: one numpy Generator per mechanism, all from one seed.

Every draw of the model comes from a child of ``numpy.random.SeedSequence(seed)``.
A child is keyed by the mechanism's name (``spawn_key=(crc32(name),)``), the
same construction ``SeedSequence.spawn`` uses with positional keys, so adding
or switching off a mechanism never shifts the draws of the others (common
random numbers between a run and its baseline).
"""

from __future__ import annotations

import zlib

import numpy as np


class RandomStreams:
    """``streams["awareness"]`` is the Generator of the awareness phase, and so on."""

    def __init__(self, seed: int):
        self.seed = int(seed)
        self.root = np.random.SeedSequence(self.seed)
        self._generators: dict[str, np.random.Generator] = {}

    def seed_sequence(self, name: str) -> np.random.SeedSequence:
        key = zlib.crc32(name.encode("utf-8"))
        return np.random.SeedSequence(self.seed, spawn_key=(key,))

    def __getitem__(self, name: str) -> np.random.Generator:
        gen = self._generators.get(name)
        if gen is None:
            gen = np.random.Generator(np.random.PCG64(self.seed_sequence(name)))
            self._generators[name] = gen
        return gen
