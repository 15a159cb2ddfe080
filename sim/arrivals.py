"""Observed acquisition (``population.arrivals``): each consumer's first-purchase day, read
from a one-column .csv or .parquet file. Consumer i enters the market on day d_i (hears,
visits and buys for sure, :meth:`sim.model.MarketModel`'s awareness and purchase phases);
nobody becomes aware any other way. Days count from 1, the first simulated day; a day after
the run's last means the consumer never arrives in it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sim.errors import ConfigError
from sim.tables import read_table

KEY = "population.arrivals"


def load_arrivals(path: str | Path, consumers: int) -> np.ndarray:
    """The first-purchase day (int64, >= 1) of each of ``consumers`` consumers, from ``path``;
    ConfigError naming ``population.arrivals``, the row and what is allowed otherwise."""
    import pandas as pd

    frame = read_table(path, KEY, "one column of first-purchase days, .csv or .parquet")
    if frame.shape[1] != 1:
        raise ConfigError(KEY, str(path), f"must hold one column (first-purchase days), not {frame.shape[1]}")
    if len(frame) != consumers:
        raise ConfigError(KEY, str(path), f"holds {len(frame)} days; needs one per consumer "
                                          f"(population.size={consumers})")
    column = frame.iloc[:, 0]
    values = pd.to_numeric(column, errors="coerce").to_numpy(float)
    bad = ~(np.isfinite(values) & (values >= 1) & (values == np.round(values)))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ConfigError(KEY, str(path), f"row {row + 1}: {column.tolist()[row]!r} is not a day >= 1 "
                                          "(day 1 = the first simulated day)")
    return values.astype(np.int64)


def write_arrivals(path: str | Path, days) -> Path:
    """Write first-purchase ``days`` (one per consumer) as ``path`` (.parquet or .csv)."""
    import pandas as pd

    p = Path(path)
    frame = pd.DataFrame({"first_purchase_day": np.asarray(days, dtype=np.int64)})
    frame.to_parquet(p, index=False) if p.suffix.lower() == ".parquet" else frame.to_csv(p, index=False)
    return p
