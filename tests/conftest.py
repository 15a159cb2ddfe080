"""Shared helpers: small, fast configs for the model."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


def small_config(**overrides):
    """A validated SimConfig for a small, fast market (2,000 consumers, 60 days)."""
    from sim.build import build_config

    data = {"seed": 1, "days": 60, "population": {"size": 2000}}
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return build_config(data)


def bass_config(size: int, p: float, q: float, days: int, seed: int, network: dict | None = None):
    from sim.build import build_config

    return build_config(
        seed=seed, days=days, scenario={"name": "bass", "law": "bass"},
        network=network or {"kind": "complete"},
        population={"size": size, "kols": {"count": 0}},
        market={"merchants": 1, "products_per_merchant": 1},
        diffusion={"innovation": p, "imitation": q},
    )


def base_frame(model):
    """A run's daily metrics without the campaign columns (to compare with its baseline)."""
    frame = model.metrics.frame()
    return frame[[c for c in frame.columns if c not in model.metrics.campaign_columns]]


@pytest.fixture(scope="session")
def default_run():
    """The default market at 2,000 consumers x 60 days, run once per session."""
    from sim.model import MarketModel

    return MarketModel(small_config()).run()
