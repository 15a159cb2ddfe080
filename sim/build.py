"""A validated :class:`~sim.config.SimConfig` from plain mappings or a composed config.

OmegaConf does the type checks and refuses unknown keys, against the config
dataclasses of ``sim/config.py`` (the one place every default lives); each
dataclass's ``validate()`` checks ranges; ``scenarios/registry.py`` builds the
campaign options. Every refusal is a :class:`~sim.errors.ConfigError` in one
line, naming the key, the value and what is allowed (with the nearest known key
for a typo).

    build_config(days=90, population={"size": 50_000}, network={"kind": "sbm"})
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import typing
from collections.abc import Mapping
from typing import Any, Dict

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigKeyError, OmegaConfBaseException

from scenarios.registry import campaign_config, load
from sim.config import SimConfig
from sim.errors import ConfigError


@functools.cache
def schema() -> type:
    """``SimConfig``'s fields as a structured-config dataclass, ``campaign`` a mapping
    ``{key: settings}`` (its entries are a union of option types that OmegaConf cannot
    type; the registry builds them). Defaults are SimConfig's own."""
    hints = typing.get_type_hints(SimConfig)
    fields = []
    for f in dataclasses.fields(SimConfig):
        if f.name == "campaign":
            fields.append(("campaign", Dict[str, Any], dataclasses.field(default_factory=dict)))
        elif f.default is not dataclasses.MISSING:
            fields.append((f.name, hints[f.name], dataclasses.field(default=f.default)))
        else:
            fields.append((f.name, hints[f.name], dataclasses.field(default_factory=f.default_factory)))
    return dataclasses.make_dataclass("SimSchema", fields, module=__name__)


SimSchema = schema()  # a module attribute, so that configs typed by it pickle (Hydra's launchers)


@functools.cache
def _base(cls: type) -> DictConfig:
    return OmegaConf.structured(cls)


def structured(cls: type, data: Mapping | None, prefix: str = ""):
    """An instance of dataclass ``cls`` from ``data``, type-checked by OmegaConf (ints
    are accepted for floats; unknown keys are refused); ConfigError keys start with
    ``prefix``."""
    try:
        return OmegaConf.to_object(OmegaConf.merge(_base(cls), data or {}))
    except OmegaConfBaseException as err:
        raise config_error(err, prefix, cls) from None


def sim_config(composed) -> SimConfig:
    """The validated SimConfig from an instance of :func:`schema` (or a subclass: the
    Hydra app's config, whose extra keys are left out)."""
    values = {f.name: getattr(composed, f.name) for f in dataclasses.fields(SimConfig) if f.name != "campaign"}
    campaign = campaign_config(composed.campaign, structured, composed.start_date, composed.days)
    return SimConfig(**values, campaign=campaign).validate()


def build_config(data: Mapping | None = None, **groups) -> SimConfig:
    """A validated :class:`SimConfig` from plain mappings.

    ``build_config({"days": 30, "network": {"kind": "complete"}})`` or
    ``build_config(days=30, network={"kind": "complete"})``; missing keys take
    the dataclass defaults. Raises :class:`ConfigError` on the first bad key.
    """
    merged = dict(data or {})
    merged.update(groups)
    return sim_config(structured(schema(), merged))


# ---------------------------------------------------------------------------- errors
_TYPE_WORDS = (("Integer", "must be an integer"), ("Float", "must be a number"),
               ("valid bool", "must be true or false"), ("ListConfig", "must be a list"),
               ("is not a subclass of", "must be a mapping of its keys"),
               ("Non optional field cannot be assigned None", "must not be null"))


def config_error(err: OmegaConfBaseException, prefix: str = "", root: type | None = None,
                 key: str | None = None) -> ConfigError:
    """One-line :class:`ConfigError` from an OmegaConf error: the key (``prefix`` in front;
    ``key`` overrides it with the key as the user wrote it), the value, and what is
    allowed; for an unknown key, the nearest known one among the fields under ``root``
    (the dataclass the error's keys are relative to; default :func:`schema`)."""
    where = [p for p in str(err.full_key or err.key or "").split(".") if p]
    full = key or ".".join([*filter(None, [prefix]), *where])
    if isinstance(err, ConfigKeyError) or "not in" in str(err.msg):
        return ConfigError(full, err.value, unknown_key_hint(full, where, root))
    text = str(err.msg or err).splitlines()[0]
    allowed = next((words for marker, words in _TYPE_WORDS if marker in text), text)
    return ConfigError(full, err.value, allowed)


def unknown_key_hint(key: str, where: list[str], root: type | None = None) -> str:
    """What to say of ``key`` whose last part in ``where`` (key parts relative to ``root``)
    is unknown: ``did you mean <key with the nearest known name>?``, or the known names."""
    parts = key.split(".")
    n = len(where)
    bad = next((i for i in range(n - 1, len(parts)) if parts[i - n + 1:i + 1] == where), len(parts) - 1)
    known = known_keys(where[:-1], root)
    if where[:1] == ["campaign"] and n == 2 and where[1] in known:
        return f"the campaign option {where[1]} is not selected: add campaign={where[1]} (or campaign=[...,{where[1]}])"
    near = difflib.get_close_matches(parts[bad], known, n=1, cutoff=0.6)
    if near:
        return f"unknown key; did you mean {'.'.join([*parts[:bad], near[0], *parts[bad + 1:]])}?"
    return ("unknown key; known: " + ", ".join(known)) if known else "unknown key"


def known_keys(path: list[str], root: type | None = None) -> list[str]:
    """The keys directly under ``path`` (key parts) in the dataclass ``root`` (default:
    :func:`schema`); under ``campaign``, the options, then an option's settings."""
    cls = root or schema()
    for i, part in enumerate(path):
        if part == "campaign" and cls is not None and "campaign" in {f.name for f in dataclasses.fields(cls)}:
            options = load()
            if i + 1 == len(path):
                return sorted(options)
            cls = options[path[i + 1]].settings if path[i + 1] in options else None
            for sub in path[i + 2:]:
                hint = typing.get_type_hints(cls).get(sub) if cls is not None else None
                cls = hint if dataclasses.is_dataclass(hint) else None
            break
        hint = typing.get_type_hints(cls).get(part) if cls is not None else None
        cls = hint if dataclasses.is_dataclass(hint) else None
    return sorted(f.name for f in dataclasses.fields(cls)) if cls is not None else []


def dotted_keys(cls: type | None = None, prefix: str = "") -> list[str]:
    """Every leaf key of a config dataclass, dotted (``population.kols.count``)."""
    cls = cls or schema()
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        name = f"{prefix}{f.name}"
        out += dotted_keys(hints[f.name], f"{name}.") if dataclasses.is_dataclass(hints[f.name]) else [name]
    return out
