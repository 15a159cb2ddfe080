"""The one error type for bad input, and the range checks every config's ``validate()`` uses.

A :class:`ConfigError` names the key, the value and what is allowed, in one
line, so a command line can print it as is. Type checks and unknown keys are
OmegaConf's (``sim/build.py``); these functions check ranges.
"""

from __future__ import annotations

import math


class ConfigError(ValueError):
    """A configuration value that the simulator refuses.

    ``str(err)`` is one line: ``<key>=<value>: <what is allowed>``.
    """

    def __init__(self, key: str, value: object, allowed: str):
        self.key = key
        self.value = value
        self.allowed = allowed
        super().__init__(f"{key}={value!r}: {allowed}")


def check_finite(key: str, value: float) -> None:
    if not math.isfinite(value):
        raise ConfigError(key, value, "must be a finite number")


def check_probability(key: str, value: float) -> None:
    """A probability (per day where it is a hazard): 0 <= value <= 1."""
    check_finite(key, value)
    if not 0.0 <= value <= 1.0:
        raise ConfigError(key, value, "must be a probability in [0, 1]")


def check_positive(key: str, value: float) -> None:
    check_finite(key, value)
    if value <= 0:
        raise ConfigError(key, value, "must be > 0")


def check_non_negative(key: str, value: float) -> None:
    check_finite(key, value)
    if value < 0:
        raise ConfigError(key, value, "must be >= 0")


def check_at_least(key: str, value: int, minimum: int) -> None:
    """An integer count of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(key, value, f"must be an integer >= {minimum}")


def check_choice(key: str, value: str, allowed) -> None:
    if value not in allowed:
        raise ConfigError(key, value, f"must be one of {', '.join(allowed)}")
