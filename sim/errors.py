"""The one error type for bad input: it names the key, the value and what is allowed."""

from __future__ import annotations


class ConfigError(ValueError):
    """A configuration value that the simulator refuses.

    ``str(err)`` is one line: ``<key>=<value>: <what is allowed>``, so the
    command line can print it as is.
    """

    def __init__(self, key: str, value: object, allowed: str):
        self.key = key
        self.value = value
        self.allowed = allowed
        super().__init__(f"{key}={value!r}: {allowed}")
