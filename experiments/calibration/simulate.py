"""The simulated side of a calibration: the market of a candidate, its runs through the
runner (:func:`experiments.batch.run_many`), and the targets of a run's ``orders.parquet``."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.calibration.moments import Moments, moments
from experiments.calibration.params import MARKET_SIZE, FreeParam
from sim.arrivals import write_arrivals
from experiments.calibration.targets import daily, targets
from sim.config import SimConfig
from sim.errors import ConfigError

#: The daily metrics of ``forecast.parquet``.
FORECAST_METRICS = ("new_customers", "orders", "repeat_orders", "gmv", "active_customers")


@dataclass
class Market:
    """The base market of a calibration and how a candidate changes it.

    ``base``: the validated config (dates of the log, the sample size, ``market_seed``),
    its money already scaled to the log's order value; ``customers``: customers seen before
    the holdout (the unit of ``market_size``); ``start``, ``holdout``, ``end``: the log's
    first day, the holdout's first day, the day after its last. ``arrivals``
    (``acquisition=observed``): each simulated consumer's first-purchase day (day 1 = ``start``),
    set on every candidate as ``population.arrivals`` once :meth:`place_arrivals` has written
    them into the calibration's folder."""

    base: SimConfig
    customers: int
    start: pd.Timestamp
    holdout: pd.Timestamp
    end: pd.Timestamp
    price_factor: float = 1.0
    arrivals: np.ndarray | None = None
    arrivals_path: Path | None = None

    @property
    def observed(self) -> bool:
        """Acquisition replays the log's first purchases (``acquisition=observed``)."""
        return self.arrivals is not None

    def place_arrivals(self, folder: Path) -> None:
        """Write the arrivals as ``folder/arrivals.parquet``, the file every candidate reads."""
        if self.observed:
            self.arrivals_path = write_arrivals(Path(folder).resolve() / "arrivals.parquet", self.arrivals)

    def data(self, values: dict[str, float]) -> dict:
        """The plain config data of a candidate: ``values`` set on the base market."""
        data = copy.deepcopy(self.base.as_dict())
        if self.observed:
            if self.arrivals_path is None:
                raise RuntimeError("Market.place_arrivals(folder) first: the candidates read the arrivals' file")
            data["population"]["arrivals"] = str(self.arrivals_path)
        for key, value in values.items():
            if key == MARKET_SIZE:
                data["population"]["represents"] = float(value) * self.customers
            else:
                set_key(data, key, value)
        return data

    def config(self, values: dict[str, float], seed: int, market_seed: int | None = None) -> SimConfig:
        """The candidate's config at dynamics ``seed`` (and ``market_seed``, else the base's)."""
        from sim.build import build_config

        data = self.data(values)
        data["seed"] = int(seed)
        if market_seed is not None:
            data["market_seed"] = int(market_seed)
        return build_config(data)

    def scale(self, config: SimConfig) -> float:
        """Real customers per simulated consumer: ``represents / size`` (1 if unset)."""
        rep = config.population.represents
        return 1.0 if rep is None else rep / config.population.size


def sampled_arrivals(first_days: np.ndarray, sample: int) -> np.ndarray:
    """The first-purchase days (day 1 = the log's first day) of the simulated consumers of
    ``acquisition=observed``: every customer's (``first_days``, 0 = the log's first day) if
    ``sample`` covers them, else a systematic sample of ``sample`` of them in order of first
    purchase (the k-th of every ``len / sample``), so that each day's arrivals are the log's
    divided by the scale factor, up to rounding; no draw."""
    days = np.sort(np.asarray(first_days, dtype=np.int64)) + 1
    if sample >= len(days):
        return days
    return days[((np.arange(sample) + 0.5) * len(days) / sample).astype(np.int64)]


def set_key(data: dict, key: str, value) -> None:
    """Set dotted ``key`` in nested ``data``; ConfigError if it is not a numeric key."""
    node = data
    parts = key.split(".")
    for part in parts[:-1]:
        if not isinstance(node, dict) or part not in node:
            raise ConfigError(f"params.{key}", value, "no such key of the market (docs/model.md)")
        node = node[part]
    if not isinstance(node, dict) or not isinstance(node.get(parts[-1]), (int, float)) or isinstance(
            node.get(parts[-1]), bool):
        raise ConfigError(f"params.{key}", value, "not a numeric key of the market (docs/model.md)")
    node[parts[-1]] = int(round(value)) if isinstance(node[parts[-1]], int) else float(value)


def numeric_keys(config: SimConfig) -> set[str]:
    """Every dotted numeric key of a config (the keys a calibration may free)."""
    out: set[str] = set()

    def walk(node, prefix):
        for k, v in node.items():
            if isinstance(v, dict):
                walk(v, f"{prefix}{k}.")
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                out.add(f"{prefix}{k}")
    walk(config.as_dict(), "")
    return out


def scale_money(data: dict, factor: float) -> None:
    """List prices and budgets x ``factor`` (the log's order value against the market's)."""
    for group, key in (("market", "list_price"), ("population", "budget")):
        dist = data[group][key]
        for field in ("value", "median", "mean", "low", "high"):
            if dist["dist"] != "beta" and isinstance(dist.get(field), (int, float)) and np.isfinite(dist[field]):
                dist[field] = float(dist[field]) * factor


def run_orders(folder: Path) -> pd.DataFrame:
    """A finished run's orders as an order log's orders (``customer, date, amount``)."""
    frame = pd.read_parquet(folder / "orders.parquet", columns=["customer_id", "date", "amount"])
    return pd.DataFrame({"customer": frame["customer_id"].to_numpy(np.int64), "date": frame["date"],
                         "amount": frame["amount"].to_numpy(float)})


def run_moments(folder: Path, market: Market, scale: float, weeks: int, retention_days) -> Moments:
    """The moments of a finished run over the calibration period, counts x ``scale``."""
    return moments(targets(run_orders(folder), market.start, market.holdout), weeks, retention_days).scaled(scale)


def run_daily(folder: Path, market: Market, scale: float) -> pd.DataFrame:
    """A finished run's daily forecast metrics over the whole log (counts x ``scale``)."""
    table = daily(run_orders(folder), market.start, market.end)
    for name in FORECAST_METRICS:
        table[name] = table[name] * scale
    return table


def candidate_jobs(market: Market, prefix: str, values: dict[str, float], seeds, params: dict | None = None,
                   market_seed: int | None = None) -> list:
    """One :class:`experiments.batch.Job` per seed (``<prefix>-seed<s>``), orders written.
    Seed s runs on its own market, ``market_seed`` = the base market's + s, so that a seed
    mean averages over markets as well as dynamics and two candidates at the same seeds
    share their random numbers; ``market_seed``: every seed on that one market instead."""
    from experiments.batch import Job

    base = market.base.market_seed_value
    return [Job(f"{prefix}-seed{s}", market.config(values, s, base + s if market_seed is None else market_seed),
                baseline=False, params={**(params or {}), "seed": s}, report=False, orders=True) for s in seeds]


def known_params(params: list[FreeParam], config: SimConfig) -> None:
    """Every free parameter is a numeric key of the market, or ``market_size``."""
    keys = numeric_keys(config)
    for p in params:
        if p.key != MARKET_SIZE and p.key not in keys:
            raise ConfigError(f"params.{p.key}", [p.low, p.high], "not a numeric key of the market "
                                                                  f"(docs/model.md) nor {MARKET_SIZE}")
