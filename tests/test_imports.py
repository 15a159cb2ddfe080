"""The top-level packages come from this repository, not from another distribution
that also installs an ``agents`` package (the OpenAI agents SDK does)."""

import importlib
import importlib.util
from pathlib import Path

import pytest

from conftest import REPO


@pytest.mark.parametrize("name", ["agents", "sim", "experiments", "scenarios", "conf"])
def test_package_is_this_repository(name):
    module = importlib.import_module(name)
    assert Path(module.__file__).resolve() == REPO / name / "__init__.py"  # what was imported
    assert importlib.util.find_spec(name).origin == str(REPO / name / "__init__.py")  # what would be


AGENT_MODULES = ("buying", "churning", "consumers", "hearing", "judging", "kol", "merchant", "platform", "talking",
                 "visiting")


def test_the_model_runs_the_rules_and_actors_of_this_repositorys_agents_package():
    """Every module the model takes from ``agents`` is this repository's file (another
    distribution's ``agents`` package would shadow them without an import error)."""
    import sim.model

    for name in AGENT_MODULES:
        module = importlib.import_module(f"agents.{name}")
        assert Path(module.__file__).resolve() == REPO / "agents" / f"{name}.py", name
    for name in ("buying", "churning", "hearing", "judging", "talking", "visiting"):
        assert getattr(sim.model, name) is importlib.import_module(f"agents.{name}"), name
    for cls in (sim.model.Consumers, sim.model.KOL, sim.model.Merchant, sim.model.Platform):
        assert Path(importlib.import_module(cls.__module__).__file__).resolve().parent == REPO / "agents", cls
