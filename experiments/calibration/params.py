"""The free parameters of a calibration: a key of the market (or ``market_size``), a range,
and the scale it is searched on. Internally a candidate is a point ``u`` of the unit cube:
``u = (θ − low) / (high − low)``, or the same of ``log θ`` for a log-scaled parameter."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sim.errors import ConfigError

#: The key that is not a simulation key: potential customers, as a multiple of the customers
#: seen before ``holdout_from`` (``population.represents`` = this x those customers).
MARKET_SIZE = "market_size"


def unused_when_observed(key: str) -> bool:
    """A key that ``acquisition=observed`` does not use: the market size (the customers seen
    are the market), awareness and diffusion (nobody hears; the arrivals are the log's) and
    the prospects' visit rate (every consumer in the market is a customer from its first day)."""
    return key == MARKET_SIZE or key.startswith("diffusion.") or key == "market.prospect_visit_prob"


@dataclass(frozen=True)
class FreeParam:
    key: str
    low: float
    high: float
    log: bool = False

    def value(self, u: float) -> float:
        """θ at unit-cube coordinate ``u`` (clipped to [0, 1])."""
        u = min(max(float(u), 0.0), 1.0)
        if self.log:
            value = math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        else:
            value = self.low + u * (self.high - self.low)
        return min(max(value, self.low), self.high)

    def unit(self, value: float) -> float:
        if self.log:
            return (math.log(value) - math.log(self.low)) / (math.log(self.high) - math.log(self.low))
        return (value - self.low) / (self.high - self.low)


def parse_params(spec: dict, known: set[str] | None = None) -> list[FreeParam]:
    """``{key: [low, high]}`` or ``{key: [low, high, "log"]}`` (nested mappings are joined
    with dots) as :class:`FreeParam` s; ConfigError in one line."""
    flat = _flat(spec)
    if not flat:
        raise ConfigError("params", spec, "must name at least one parameter {key: [low, high]}")
    out = []
    for key, bounds in flat.items():
        if known is not None and key != MARKET_SIZE and key not in known:
            raise ConfigError(f"params.{key}", bounds, "not a numeric key of the market (docs/model.md) "
                                                       f"nor {MARKET_SIZE}")
        if not isinstance(bounds, (list, tuple)) or len(bounds) not in (2, 3) or (
                len(bounds) == 3 and bounds[2] != "log"):
            raise ConfigError(f"params.{key}", bounds, "must be [low, high] or [low, high, log]")
        try:
            low, high = float(bounds[0]), float(bounds[1])
        except (TypeError, ValueError):
            raise ConfigError(f"params.{key}", bounds, "low and high must be numbers") from None
        log = len(bounds) == 3
        if not (math.isfinite(low) and math.isfinite(high) and low < high) or (log and low <= 0):
            raise ConfigError(f"params.{key}", list(bounds), "must have low < high (and low > 0 on a log scale)")
        out.append(FreeParam(key, low, high, log))
    return out


def _flat(spec, prefix: str = "") -> dict:
    out = {}
    for key, value in (spec or {}).items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = list(value) if isinstance(value, (list, tuple)) else value
    return out
