"""Reading a user's table file (.csv or .parquet) for the market: products
(``catalogue.path``), first-purchase days (``population.arrivals``)."""

from __future__ import annotations

from pathlib import Path

from sim.errors import ConfigError


def read_table(path: str | Path, key: str, holds: str):
    """The DataFrame of ``path`` (.parquet by its suffix, else CSV); ConfigError naming
    ``key`` when there is no such file (``holds``: what the file should hold) or it cannot
    be read."""
    import pandas as pd

    p = Path(path)
    if not p.is_file():
        raise ConfigError(key, str(path), f"no such file ({holds})")
    try:
        return pd.read_parquet(p) if p.suffix.lower() == ".parquet" else pd.read_csv(p)
    except (OSError, ValueError) as err:
        raise ConfigError(key, str(path), f"cannot be read ({' '.join(str(err).split())[:160]})") from None
