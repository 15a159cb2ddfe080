"""The top-level packages come from this repository, not from another distribution
that also installs an ``agents`` package (the OpenAI agents SDK does)."""

import importlib
import importlib.util

import pytest

from conftest import REPO


@pytest.mark.parametrize("name", ["agents", "sim", "experiments", "scenarios", "conf"])
def test_package_is_this_repository(name):
    module = importlib.import_module(name)
    assert module.__file__ is not None
    assert importlib.util.find_spec(name).origin == str(REPO / name / "__init__.py")


def test_agents_package_has_the_market_actors():
    from agents.consumers import Consumers
    from agents.kol import KOL
    from agents.merchant import Merchant
    from agents.platform import Platform

    assert all(cls.__module__.startswith("agents.") for cls in (Consumers, KOL, Merchant, Platform))
