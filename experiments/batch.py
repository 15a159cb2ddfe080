"""The one pipeline every analysis stands on: compose configs, run many, tidy tables.

* :func:`compose` / :func:`compose_many`: Hydra overrides (after a preset file's)
  -> validated :class:`~sim.config.SimConfig` plus the app's own keys. The one place
  that calls Hydra's compose API; the config dataclasses are its structured schema.
* :class:`Job`: one simulation (and, with a campaign, its baseline) in a named folder,
  keyed by a hash of its config, ``baseline`` and the code version.
* :func:`run_many`: runs jobs in parallel (loky worker processes, one tqdm bar),
  skips jobs already finished in the folder (resume), records a failing job and
  goes on, and writes ``runs.parquet`` and ``daily.parquet``.
* :func:`execute`: one job, in a worker or in this process (a single run).
* :func:`collect`: the tidy tables from the job folders.

``docs/pipeline.md`` shows how to build a new analysis on top.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import itertools
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, wait
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.build import config_error, schema, sim_config, unknown_key_hint
from sim.config import SimConfig
from sim.errors import ConfigError
from sim.outputs import flatten, read_json, write_json, write_parquet

REPO = Path(__file__).resolve().parents[1]
JOB_FILE, ERROR_FILE, SUMMARY_FILE, CONFIG_FILE = "job.json", "error.json", "summary.json", "config.yaml"
RUNS_FILE, DAILY_FILE, PLAN_FILE, PROGRESS_FILE, LOCK_FILE = (
    "runs.parquet", "daily.parquet", "plan.json", "progress.json", ".lock")
#: Every file or folder a job writes (cleared before a job runs again, so a folder never mixes runs).
JOB_OUTPUTS = (SUMMARY_FILE, "metrics.parquet", "retention.parquet", "cohorts.parquet", "orders.parquet",
               "payments.parquet", "cascades.parquet",
               CONFIG_FILE, ERROR_FILE, "report.md", "gmv.png", "adopters.png", "retention.png", "baseline")
#: Config groups whose option is chosen on the command line (``network=sbm``).
GROUPS = ("network", "catalogue", "platform", "campaign", "scenario")
#: Keys that name no job: left out of sweep job folder names and of the job columns.
NOT_IN_NAME = ("sweep_name", "report", "orders", "progress", "jobs", "out", "overwrite", "preset")


@dataclass
class AppSettings:
    """The app's own keys (top level, beside the simulation's): defaults of every command."""

    report: bool = True  # write PNG plots and report.md beside a run's outputs
    orders: bool = True  # write orders.parquet (every order and its refund; ~1 MB per 10^5 orders)
    progress: bool = True  # progress bars on stderr
    baseline: bool = True  # with a campaign, also run its baseline (campaign off, same seeds)
    out: str | None = None  # output folder (default: results/<scenario>/<time>/, or the sweep folder)
    overwrite: bool = False  # replace a finished run in ``out``
    sweep_name: str | None = None  # -m: results/sweeps/<sweep_name>/ (default: the start time)
    jobs: int | None = None  # worker processes (default: the machine's cores)


@functools.cache
def run_schema() -> type:
    """The composed config's schema: the simulation's keys (``sim.build.schema``) and the app's."""
    fields = [(f.name, f.type, dataclasses.field(default=f.default)) for f in dataclasses.fields(AppSettings)]
    return dataclasses.make_dataclass("RunConfig", fields, bases=(schema(),), module=__name__)


RunConfig = run_schema()  # a module attribute, so that configs typed by it pickle (Hydra's launchers)


# ---------------------------------------------------------------------------- composing
@dataclass
class Composed:
    """One composed config: the simulation's, the app's keys and the overrides that made it."""

    config: SimConfig
    app: AppSettings
    overrides: list[str]


@functools.cache
def register_configs() -> None:
    """Structured configs in Hydra's ConfigStore: the schema, every campaign option (typed by
    its settings dataclass), every network kind and the generic platform. YAML files in
    ``conf/`` hold only presets that differ from these."""
    from hydra.core.config_store import ConfigStore

    from scenarios.registry import load
    from sim.network import NETWORKS

    cs = ConfigStore.instance()
    cs.store(name="socialsim", node=run_schema())
    for option, mechanism in load().items():
        cs.store(group="campaign", name=option, node=mechanism.settings, package=f"campaign.{option}")
    cs.store(group="campaign", name="none", node={}, package="campaign")
    for kind in NETWORKS:
        cs.store(group="network", name=kind, node={"kind": kind}, package="network")
    cs.store(group="platform", name="generic", node={}, package="platform")
    from sim.config import CATALOGUE_KINDS

    for kind in CATALOGUE_KINDS:
        cs.store(group="catalogue", name=kind, node={"kind": kind}, package="catalogue")


class HydraContext:
    """Hydra's global state for composing, initialized from ``conf/`` for a block."""

    def __enter__(self):
        from hydra import initialize_config_module
        from hydra.core.global_hydra import GlobalHydra

        register_configs()
        GlobalHydra.instance().clear()
        self._init = initialize_config_module(config_module="conf", version_base="1.3")
        self._init.__enter__()
        return GlobalHydra.instance().config_loader()

    def __exit__(self, *exc):
        self._init.__exit__(*exc)
        return False


def compose(overrides: Sequence[str] = (), preset: str | Path | None = None) -> Composed:
    """The config of ``python -m experiments.run`` with these overrides (after the preset's).
    Raises :class:`ConfigError` in one line: unknown options and keys (with the nearest
    known name), values of the wrong type, values out of range."""
    return compose_many([list(overrides)], preset)[0]


def compose_data(overrides: Sequence[str] = (), preset: str | Path | None = None) -> dict:
    """The composed simulation keys as plain data, before validation (for callers that
    adjust values, as the demo does, then call ``sim.build.build_config``)."""
    from omegaconf import OmegaConf

    overrides = [*(preset_overrides(preset) if preset else []), *map(str, overrides)]
    with HydraContext() as loader:
        data = OmegaConf.to_container(_compose(loader, overrides), resolve=True)
    return {k: v for k, v in data.items() if k not in {f.name for f in dataclasses.fields(AppSettings)}}


def compose_many(jobs: Sequence[Sequence[str]], preset: str | Path | None = None) -> list[Composed]:
    """:func:`compose` for many override lists (a sweep). Composes once per set of config-group
    choices; each job's plain ``key=value`` overrides are then set on a copy of that config's
    dataclasses, each value converted by OmegaConf's node for its field's type (checked
    once per set against a full composition; a mismatch, or a value the shortcut cannot
    set, composes the job in full, which also says what is wrong)."""

    base = preset_overrides(preset) if preset else []
    out: list[Composed] = []
    templates: dict[tuple, Any] = {}  # group choices -> the composed RunConfig (None: compose each job)
    seen: dict[str, Any] = {}  # override text -> parsed (the same texts recur across a sweep's jobs)
    with HydraContext() as loader:
        parser = _parser(loader)
        for overrides in jobs:
            overrides = [*base, *map(str, overrides)]
            parsed = [seen[o] if o in seen else seen.setdefault(o, _parse(parser, [o])[0]) for o in overrides]
            groups = tuple(o for o, p in zip(overrides, parsed) if p.key_or_group in GROUPS)
            plain = [p for p in parsed if p.key_or_group not in GROUPS]
            for p in plain:
                if (p.is_add() or p.is_force_add()) and not p.key_or_group.startswith("campaign."):
                    raise ConfigError(p.key_or_group, p.value(), unknown_key_hint(p.key_or_group,
                                                                                 p.key_or_group.split("."), run_schema()))
            first = groups not in templates
            if first:
                templates[groups] = _object(_compose(loader, list(groups)))
            obj = templates[groups]
            for p in plain:
                if obj is None or p.is_add() or p.is_delete() or p.is_force_add():
                    obj = None
                    break
                obj = _with_value(obj, p.key_or_group.split("."), p.value())
            result = composed(obj if obj is not None else _compose(loader, overrides), overrides)
            if first and obj is not None:  # the shortcut must give what composing the job gives
                full = composed(_compose(loader, overrides), overrides)
                if (full.config, full.app) != (result.config, result.app):
                    templates[groups], result = None, full
            out.append(result)
    return out


def _object(cfg):
    """A composed DictConfig as its dataclasses (RunConfig); errors in one line."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        return OmegaConf.to_object(cfg)
    except OmegaConfBaseException as err:
        raise config_error(err, root=run_schema()) from None


@functools.cache
def _hints(cls: type) -> dict:
    import typing

    return typing.get_type_hints(cls)


def _with_value(obj, path: list[str], value):
    """A copy of dataclass ``obj`` with the field at ``path`` set to ``value``, converted by
    OmegaConf's node for the field's type; None where this cannot be done (not a field, a
    type other than int/float/bool/str, or a value the node refuses)."""
    import typing

    from omegaconf import BooleanNode, FloatNode, IntegerNode, StringNode

    if isinstance(obj, dict):
        inner = _with_value(obj[path[0]], path[1:], value) if path[0] in obj and len(path) > 1 else None
        return None if inner is None else {**obj, path[0]: inner}
    if not dataclasses.is_dataclass(obj) or path[0] not in {f.name for f in dataclasses.fields(obj)}:
        return None
    if len(path) > 1:
        inner = _with_value(getattr(obj, path[0]), path[1:], value)
        return None if inner is None else dataclasses.replace(obj, **{path[0]: inner})
    hint = _hints(type(obj))[path[0]]
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    optional = type(None) in typing.get_args(hint)
    node = {int: IntegerNode, float: FloatNode, bool: BooleanNode, str: StringNode}.get(
        args[0] if optional and len(args) == 1 else hint)
    try:
        converted = None if value is None and optional else node(value=value, is_optional=optional)._value()
    except Exception:  # noqa: BLE001 - not a simple field, or a refused value: compose in full
        return None
    return dataclasses.replace(obj, **{path[0]: converted})


def composed(cfg, overrides: list[str]) -> Composed:
    """A composed config (a DictConfig, or its dataclasses) as a :class:`Composed`
    (validated; errors in one line)."""
    obj = cfg if dataclasses.is_dataclass(cfg) else _object(cfg)
    app = AppSettings(**{f.name: getattr(obj, f.name) for f in dataclasses.fields(AppSettings)})
    return Composed(sim_config(obj), app, list(overrides))


def _parser(loader):
    from hydra.core.override_parser.overrides_parser import OverridesParser

    return OverridesParser.create(config_loader=loader)


def _parse(parser, overrides: list[str]) -> list:
    from hydra.errors import HydraException

    out = []
    for text in overrides:
        try:
            out.append(parser.parse_override(text))
        except HydraException as err:
            key, _, value = text.partition("=")
            first = next((line for line in str(err).splitlines() if line.strip()), "cannot parse")
            raise ConfigError(key, value, f"cannot parse the override ({first})") from None
    return out


def _compose(loader, overrides: list[str]):
    """Hydra's compose, its errors made one line."""
    from hydra import compose as hydra_compose
    from hydra.errors import HydraException

    try:
        return hydra_compose(config_name="config", overrides=list(overrides))
    except HydraException as err:
        raise hydra_error(err, overrides, loader) from None


def hydra_error(err: Exception, overrides: list[str], loader=None) -> ConfigError:
    """One-line :class:`ConfigError` from a Hydra composition error."""
    from omegaconf.errors import OmegaConfBaseException

    text = str(err)
    missing = re.search(r"Could not (?:find|load) '([^'/]+)/([^']+)'", text)
    if missing:
        group, option = missing.groups()
        known = sorted(loader.get_group_options(group)) if loader is not None else []
        near = difflib_near(option, known)
        return ConfigError(group, option, "unknown option; " + (f"did you mean {near}? " if near else "")
                           + f"known: {', '.join(known) or 'none'}")
    merging = re.search(r"merging override (\S+?=.*)$", text.splitlines()[0])
    found = re.search(r"Could not \w+(?: to| from)? '([^']+)'", text)
    key = merging.group(1).split("=", 1)[0].lstrip("+~") if merging else found.group(1).lstrip("+~") if found else None
    given = [o for o in overrides if key and "=" in o and o.split("=", 1)[0].lstrip("+~") == key]
    value = _typed(merging.group(1)) if merging else _typed(given[-1]) if given else None
    cause = err.__cause__
    while cause is not None and not isinstance(cause, OmegaConfBaseException):
        cause = cause.__cause__
    if cause is not None:
        found = config_error(cause, root=run_schema(), key=key)
        return ConfigError(found.key, value if value is not None else found.value, found.allowed)
    if key:
        return ConfigError(key, value, "no such key (the keys are in docs/model.md)")
    first = next((line.strip() for line in text.splitlines() if line.strip()), type(err).__name__)
    return ConfigError("overrides", " ".join(overrides), first)


def _typed(override: str):
    """The value of an override as Hydra types it (``5`` -> 5), else its text."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        return OverridesParser.create().parse_override(override).value()
    except Exception:  # noqa: BLE001 - unparsable: the text as given
        return override.split("=", 1)[1]


def difflib_near(word: str, known: Iterable[str]) -> str | None:
    import difflib

    near = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return near[0] if near else None


def expand(overrides: Sequence[str]) -> list[list[str]]:
    """The jobs of a sweep: the cartesian product of every swept override (``a=1,2``,
    ``seed='range(10)'``, ``glob(...)``), in Hydra's order; plain overrides go to every job."""
    with HydraContext() as loader:
        parsed = _parse(_parser(loader), list(overrides))
        axes = [[f"{p.get_key_element()}={v}" for v in p.sweep_string_iterator()] if p.is_sweep_override()
                else [text] for text, p in zip(overrides, parsed)]
    return [list(job) for job in itertools.product(*axes)]


# ---------------------------------------------------------------------------- presets
def preset_overrides(path: str | Path) -> list[str]:
    """The overrides in a preset file (YAML): a list of ``key=value`` strings, or a mapping.
    In a mapping, ``network``, ``platform``, ``scenario`` and ``campaign`` given as a name (or
    a list of names) choose options; every other value, nested or dotted, sets a key. A
    ``campaign`` mapping ``{key: settings}`` chooses its options and sets their keys."""
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ConfigError("preset", str(path), f"cannot be read ({err.strerror or err})") from None
    except yaml.YAMLError as err:
        raise ConfigError("preset", str(path), "is not valid YAML: " + " ".join(str(err).split())[:200]) from None
    if data is None:
        return []
    if isinstance(data, list) and all(isinstance(x, str) for x in data):
        return list(data)
    if not isinstance(data, dict):
        raise ConfigError("preset", str(path), "must hold a mapping of keys or a list of key=value overrides")
    out: list[str] = []
    for key, value in data.items():
        key = str(key)
        if key in GROUPS and (isinstance(value, str) or (isinstance(value, list) and key == "campaign")):
            out.append(f"{key}={_literal(value, bare=True)}")
        elif key == "campaign" and isinstance(value, dict):
            from scenarios.registry import load

            options = [k for k, v in value.items() if k in load() and "mechanism" not in (v or {})]
            out.append(f"campaign={_literal(options, bare=True)}")
            for name, settings in value.items():
                if name in options:
                    out += [f"campaign.{name}.{k}={_literal(v)}" for k, v in _flat(settings or {})]
                else:
                    out.append(f"+campaign.{name}={_literal(settings or {})}")
        elif isinstance(value, dict):
            out += [f"{key}.{k}={_literal(v)}" for k, v in _flat(value)]
        else:
            out.append(f"{key}={_literal(value)}")
    return out


def _flat(data: dict, prefix: str = "") -> list[tuple[str, Any]]:
    out = []
    for k, v in data.items():
        out += _flat(v, f"{prefix}{k}.") if isinstance(v, dict) and v else [(f"{prefix}{k}", v)]
    return out


def _literal(value, bare: bool = False) -> str:
    """A value in Hydra's override grammar (strings quoted unless ``bare``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_literal(v, bare) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{_literal(v)}" for k, v in value.items()) + "}"
    text = str(value)
    return text if bare else "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


# ---------------------------------------------------------------------------- jobs
@functools.cache
def code_version() -> str:
    """``<package version>+g<commit>`` where a git checkout is found, with ``.dirty<hash>``
    (a hash of the uncommitted changes to tracked files) when there are some, so that an
    edit after a run changes the version and its jobs run again."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        text = version("socialsim")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree without install
        text = "0+unknown"
    if (REPO / ".git").exists():
        try:
            git = ["git", "-C", str(REPO)]
            commit = subprocess.run([*git, "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True,
                                    timeout=10, check=True).stdout.strip()
            diff = subprocess.run([*git, "diff", "HEAD", "--binary"], capture_output=True, timeout=30).stdout
            text += f"+g{commit}" + (f".dirty{hashlib.sha256(diff).hexdigest()[:8]}" if diff else "")
        except (OSError, subprocess.SubprocessError):
            pass
    return text


def config_hash(config: SimConfig, baseline: bool = True) -> str:
    """16 hex digits of SHA-256 over the validated config (market seed resolved) and
    ``baseline``: two spellings of the same market give the same hash."""
    data = config.as_dict()
    data["market_seed"] = config.market_seed_value
    text = json.dumps({"sim": data, "baseline": bool(baseline)}, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class Job:
    """One simulation (and, with a campaign and ``baseline``, its baseline), written to the
    folder ``name`` of a batch. ``params`` are its columns in ``runs.parquet``.
    ``key`` (the resume key) hashes the config, ``baseline`` and the code version."""

    name: str
    config: SimConfig
    baseline: bool = True
    params: dict = field(default_factory=dict)
    report: bool = False
    overrides: list[str] = field(default_factory=list)
    orders: bool = True  # write orders.parquet
    config_hash: str = ""
    key: str = ""
    code_version: str = ""

    def __post_init__(self):
        if not re.fullmatch(r"[^/\\\x00.][^/\\\x00]*", self.name):
            raise ValueError(f"job name {self.name!r}: a folder name, not hidden")
        self.code_version = self.code_version or code_version()
        self.config_hash = config_hash(self.config, self.baseline)
        self.key = hashlib.sha256(f"{self.config_hash} {self.code_version}".encode()).hexdigest()[:16]


def job_folder_name(overrides: Iterable[str], leave_out: Iterable[str] = ()) -> str:
    """A job folder name from its overrides: sorted ``key=value`` joined by ``,`` (keys in
    ``leave_out`` dropped), characters a file name cannot hold as ``_``, at most 120
    characters (a longer name ends in ``~`` and a hash of the whole); ``default`` if empty."""
    leave_out = set(leave_out)
    name = ",".join(sorted(o for o in overrides if o.split("=", 1)[0].lstrip("+~") not in leave_out))
    if not name:
        return "default"
    safe = re.sub(r"[/\\\x00:*?\"<>|\s]", "_", name)
    safe = "_" + safe[1:] if safe.startswith(".") else safe
    if len(safe) > 120:
        safe = f"{safe[:107]}~{hashlib.sha1(name.encode()).hexdigest()[:12]}"
    return safe


def job_params(overrides: list[str]) -> dict:
    """A job's columns: each override's key and value as Hydra types it (a list ``[a,b]``
    becomes ``a+b``), leaving out the keys that name no job."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create()
    out = {}
    for text in overrides:
        ov = parser.parse_override(text)
        if ov.is_delete() or ov.key_or_group in NOT_IN_NAME:
            continue
        value = ov.value()
        out[ov.key_or_group] = ("+".join(map(str, value)) if isinstance(value, (list, tuple))
                                else json.dumps(value, sort_keys=True) if isinstance(value, dict) else value)
    return out


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def clear_outputs(folder: Path) -> None:
    """Remove a job's outputs (``summary.json`` first), so a folder never mixes two runs, and
    the temporary files of a writer killed mid-write (``.<name>.<pid>.tmp``,
    ``sim.outputs.atomic_write``): the job's folder is written by one process at a time."""
    import shutil

    for name in JOB_OUTPUTS:
        path = folder / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    for stale in folder.glob(".*.tmp"):
        stale.unlink(missing_ok=True)


def execute(job: Job, folder: str | Path, *, progress: bool = False, raise_errors: bool = False) -> dict:
    """Run one job into ``folder``: ``job.json`` (running, then ok or failed), the run's
    outputs (``sim.outputs.write_run``; ``summary.json`` last, carrying ``config_hash``,
    ``job_key`` and ``code_version``), ``baseline/``, ``config.yaml`` and, with
    ``job.report``, the plots and ``report.md``. A failure writes ``error.json`` and is
    returned as ``status: failed`` (re-raised with ``raise_errors``)."""
    from sim.evaluation import evaluate, incremental, window_effects
    from sim.outputs import atomic_write, write_run

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    previous = read_json(folder / JOB_FILE) or {}
    clear_outputs(folder)
    record = {"job": job.name, "key": job.key, "config_hash": job.config_hash, "code_version": job.code_version,
              "status": "running", "params": job.params, "overrides": job.overrides, "seed": job.config.seed,
              "attempt": int(previous.get("attempt", 0)) + 1, "started": _now(), "host": socket.gethostname(),
              "pid": os.getpid()}
    write_json(record, folder / JOB_FILE)
    start = time.perf_counter()
    try:
        result = evaluate(job.config, progress=progress, with_baseline=job.baseline)
        extra = {"wall_seconds": round(time.perf_counter() - start, 3), "config_hash": job.config_hash,
                 "job_key": job.key, "code_version": job.code_version}
        if result.baseline is not None:
            write_run(result.baseline, folder / "baseline", orders=job.orders)
            extra.update(incremental(result.model.summary(), result.baseline.summary()))
            extra.update(window_effects(result.model, result.baseline))
        text = config_yaml(job.config, AppSettings(baseline=job.baseline))
        atomic_write(folder / CONFIG_FILE, lambda tmp: tmp.write_text(text, encoding="utf-8"))
        write_run(result.model, folder, extra, orders=job.orders)
        if job.report:
            from experiments.report import write_report

            write_report(folder)
        record["status"] = "ok"
    except Exception as err:
        if raise_errors:
            write_json({**record, "status": "failed", "error": _one_line(err)}, folder / JOB_FILE)
            raise
        record.update(status="failed", error=_one_line(err), error_type=type(err).__name__)
        write_json({"error_type": type(err).__name__, "message": _one_line(err),
                    "traceback": traceback.format_exc()}, folder / ERROR_FILE)
    record.update(finished=_now(), job_seconds=round(time.perf_counter() - start, 3))
    write_json(record, folder / JOB_FILE)
    return record


def config_yaml(config: SimConfig, app: AppSettings | None = None) -> str:
    """The exact configuration of a run as YAML (the simulation's keys, then the app's)."""
    import yaml

    data = {**config.as_dict(), **(dataclasses.asdict(app) if app is not None else {})}
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def check_names(jobs: Sequence[Job]) -> None:
    """Every job has its own folder name (ConfigError naming one that repeats)."""
    names = [j.name for j in jobs]
    if len(set(names)) != len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise ConfigError("jobs", twice, "two jobs share this folder name; they must differ in a key that "
                                         "names jobs (not sweep_name, report, progress, jobs, out)")


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text if isinstance(err, ConfigError) else f"{type(err).__name__}: {text}"


# ---------------------------------------------------------------------------- the runner
def cores() -> int:
    """CPUs this process may use."""
    return (getattr(os, "process_cpu_count", None) or os.cpu_count)() or 1


def available_memory() -> int:
    """Bytes of memory available for new work (MemAvailable; else physical memory)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def fit_workers(configs: Iterable[SimConfig], workers: int | None) -> int:
    """Worker processes whose runs fit in memory together (at most ``workers``, default all
    cores); ConfigError if even one run does not fit."""
    from sim.model import estimated_peak_bytes

    need = max((estimated_peak_bytes(c) for c in configs), default=0)
    have = available_memory()
    if need > have:
        big = max(configs, key=estimated_peak_bytes)
        raise ConfigError("population.size", big.population.size,
                          f"needs about {need / 2**30:.1f} GiB for its arrays and this machine has "
                          f"{have / 2**30:.1f} GiB available; use a smaller population")
    workers = workers or cores()
    return max(1, min(workers, have // max(need, 1)))


class FolderLock:
    """An exclusive lock on a folder (``.lock``, ``flock``): a second process is refused with
    one line while the first lives; the kernel releases it when the holder dies."""

    def __init__(self, folder: str | Path, key: str = "out"):
        self.folder, self.key, self.fd = Path(folder), key, None

    def __enter__(self) -> "FolderLock":
        import fcntl

        path = self.folder / LOCK_FILE
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 200).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise ConfigError(self.key, str(self.folder), f"in use by a running process ({holder}); "
                                                           "wait for it or choose another folder") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} on {socket.gethostname()}".encode())
        self.fd = fd
        return self

    def __exit__(self, *exc) -> bool:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        return False


def _watch_parent(parent: int) -> None:
    """Worker initializer: end this worker when its parent is gone (SIGKILL of the launcher
    included), and leave Ctrl-C to the parent."""
    import logging
    import signal

    logging.getLogger("MESA").setLevel(logging.WARNING)
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


def _results(jobs: list[Job], folder: Path, workers: int) -> Iterator[dict]:
    """Each job's record as it finishes, in worker processes (``workers`` 1: in this one)."""
    if workers <= 1:
        for job in jobs:
            yield execute(job, folder / job.name)
        return
    from joblib.externals.loky import get_reusable_executor
    from joblib.externals.loky.process_executor import TerminatedWorkerError

    import warnings

    # Killed workers leave loky's semaphores to the resource tracker, which would warn on stderr;
    # a reused executor whose idle workers timed out restarts them, with a warning: both are noise.
    os.environ.setdefault("PYTHONWARNINGS", "ignore:resource_tracker:UserWarning")
    warnings.filterwarnings("ignore", message="A worker stopped while some jobs were given")
    queue = iter(jobs)
    executor = get_reusable_executor(max_workers=workers, initializer=_watch_parent, initargs=(os.getpid(),))
    pending: dict = {}
    try:
        while True:
            while len(pending) < 2 * workers and (job := next(queue, None)) is not None:
                pending[executor.submit(execute, job, folder / job.name)] = job
            if not pending:
                return
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                job = pending.pop(future)
                try:
                    yield future.result()
                except TerminatedWorkerError:
                    yield {"job": job.name, "status": "failed", "error": "the worker process died "
                           "(killed, or out of memory); run the batch again to retry"}
                    executor = get_reusable_executor(max_workers=workers, initializer=_watch_parent,
                                                     initargs=(os.getpid(),))
    except BaseException:
        executor.shutdown(wait=False, kill_workers=True)
        raise


@dataclass
class Batch:
    """The tidy tables of a batch folder (:func:`collect`)."""

    folder: Path
    runs: pd.DataFrame
    daily: pd.DataFrame
    params: list[str] = field(default_factory=list)
    kpis: list[str] = field(default_factory=list)
    ran: int = 0
    skipped: int = 0
    elapsed: float = 0.0

    def counts(self) -> dict[str, int]:
        status = self.runs["status"].value_counts() if len(self.runs) else {}
        return {s: int(status.get(s, 0)) for s in ("ok", "failed", "incomplete")}

    def frames(self, file: str = "metrics.parquet") -> dict[str, pd.DataFrame]:
        """``{job: table}``: a file of every ok job's folder (``retention.parquet``, ...)."""
        ok = self.runs.loc[self.runs["status"] == "ok", "job"] if len(self.runs) else []
        return {name: pd.read_parquet(self.folder / name / file) for name in ok}

    def write(self, out: str | Path | None = None) -> dict[str, Path]:
        """``daily.parquet`` then ``runs.parquet`` (atomically) into ``out`` (default: the folder)."""
        target = Path(out) if out is not None else self.folder
        return {"daily": write_parquet(self.daily, target / DAILY_FILE),
                "runs": write_parquet(self.runs, target / RUNS_FILE)}

    def describe(self) -> str:
        c = self.counts()
        text = f"{len(self.runs)} jobs in {self.folder}/: ok {c['ok']}, failed {c['failed']}, incomplete {c['incomplete']}"
        if self.ran or self.skipped:
            text += f" ({self.ran} run now in {self.elapsed:.1f} s, {self.skipped} found finished)"
        if c["failed"]:
            first = self.runs[self.runs["status"] == "failed"].iloc[0]
            text += f"\nfirst failure: {first['job']}: {first['error']}"
        if c["failed"] or c["incomplete"]:
            text += "\nrun the same command again to run the failed and incomplete jobs"
        return text


def finished(folder: Path, job: Job) -> bool:
    """The job's folder holds its finished run (a ``summary.json`` with the job's key)."""
    summary = read_json(folder / job.name / SUMMARY_FILE)
    return bool(summary) and summary.get("job_key") == job.key


def run_many(jobs: Sequence[Job], folder: str | Path, *, workers: int | None = None, progress: bool = True,
             desc: str = "runs", write: bool = True) -> Batch:
    """Run ``jobs`` into ``folder/<job.name>/`` and return the tables of these jobs (and,
    with ``write``, write ``runs.parquet`` and ``daily.parquet`` of the whole folder).

    Jobs whose folder holds their finished run are skipped (resume). A job that raises
    is recorded (``error.json``, status ``failed``) and the others go on. ``workers``
    processes (default: the cores, fewer if memory is short), one progress bar,
    ``progress.json`` for another shell. The folder is locked while the batch runs.
    """
    from tqdm.auto import tqdm

    folder = Path(folder)
    check_names(jobs)
    workers = fit_workers((j.config for j in jobs), workers)
    folder.mkdir(parents=True, exist_ok=True)
    with FolderLock(folder):
        todo = [j for j in jobs if not finished(folder, j)]
        write_json({"created": _now(), "jobs": [{"job": j.name, "params": j.params, "overrides": j.overrides,
                                                 "key": j.key} for j in jobs]}, folder / PLAN_FILE)
        workers = min(workers, max(1, len(todo)))
        start = time.perf_counter()
        counts = {"ok": 0, "failed": 0}
        bar = tqdm(total=len(jobs), initial=len(jobs) - len(todo), desc=desc, unit="run", file=sys.stderr,
                   dynamic_ncols=True, disable=not progress)
        last = 0.0
        try:
            for record in _results(todo, folder, workers):
                counts["ok" if record.get("status") == "ok" else "failed"] += 1
                bar.update(1)
                if counts["failed"]:
                    bar.set_postfix_str(f"failed {counts['failed']}")
                if time.perf_counter() - last > 2:
                    last = time.perf_counter()
                    _write_progress(folder, len(jobs), len(jobs) - len(todo), counts, last - start)
        finally:
            bar.close()
            elapsed = time.perf_counter() - start
            _write_progress(folder, len(jobs), len(jobs) - len(todo), counts, elapsed, final=True)
            batch = collect(folder, [j.name for j in jobs])
            batch.ran, batch.skipped, batch.elapsed = sum(counts.values()), len(jobs) - len(todo), elapsed
            if write:
                (batch if set(job_folders(folder)) <= {j.name for j in jobs} else collect(folder)).write()
    return batch


def _write_progress(folder: Path, total: int, skipped: int, counts: dict, elapsed: float, final=False) -> None:
    done = skipped + counts["ok"] + counts["failed"]
    ran = counts["ok"] + counts["failed"]
    eta = (total - done) * elapsed / ran if ran else None
    write_json({"total": total, "done": done, "skipped": skipped, **counts, "left": total - done,
                "elapsed_s": round(elapsed, 1), "eta_s": None if eta is None else round(eta, 1),
                "final": final, "updated": _now()}, folder / PROGRESS_FILE)


# ---------------------------------------------------------------------------- the tables
META = ("job", "status", "error", "error_type", "config_hash", "job_key", "code_version", "overrides",
        "attempt", "job_seconds", "started", "finished")


def job_folders(folder: Path) -> list[str]:
    """Sub-folders holding a job (``job.json`` or ``summary.json``), sorted; hidden ones skipped."""
    try:
        entries = sorted(e.name for e in os.scandir(folder) if e.is_dir() and not e.name.startswith("."))
    except FileNotFoundError:
        return []
    return [n for n in entries if (folder / n / JOB_FILE).exists() or (folder / n / SUMMARY_FILE).exists()]


def collect(folder: str | Path, names: Sequence[str] | None = None) -> Batch:
    """``runs`` (one row per job: status, keys, params, every KPI of ``summary.json``
    flattened) and ``daily`` (one row per ok job and day: the job's ``metrics.parquet``
    with the job's columns in front) from the job folders, or the planned ``names``."""
    folder = Path(folder)
    if names is None:
        plan = read_json(folder / PLAN_FILE) or {}
        names = list(dict.fromkeys([*job_folders(folder), *(j["job"] for j in plan.get("jobs") or [])]))
    metas, params, flats = [], [], []
    planned = {j["job"]: j for j in (read_json(folder / PLAN_FILE) or {}).get("jobs") or []}
    for name in names:
        job = read_json(folder / name / JOB_FILE) or {}
        summary = read_json(folder / name / SUMMARY_FILE)
        ok = bool(summary) and summary.get("job_key", job.get("key")) == job.get("key", summary.get("job_key"))
        meta = {k: job.get(k) for k in ("attempt", "job_seconds", "started", "finished", "code_version")}
        meta.update(job=name, config_hash=job.get("config_hash"), job_key=job.get("key"),
                    overrides=" ".join(job.get("overrides") or planned.get(name, {}).get("overrides") or []),
                    status="ok" if ok else "failed" if job.get("status") == "failed" else "incomplete",
                    error=None if ok else job.get("error") or ("started, not finished (killed, or still running)"
                                                               if job else "not started"),
                    error_type=None if ok else job.get("error_type"))
        metas.append(meta)
        params.append(job.get("params") if job.get("params") is not None else planned.get(name, {}).get("params", {}))
        flat = flatten(summary) if ok else {}
        flat.setdefault("seed", job.get("seed"))
        flats.append(flat)
    param_keys = list(dict.fromkeys(k for p in params for k in p))
    columns = {key: _column([m.get(key) for m in metas]) for key in META}
    columns.update({key: _column([p.get(key) for p in params]) for key in param_keys})
    kpis = []
    for key in dict.fromkeys(k for f in flats for k in f):
        col = _column([f.get(key) for f in flats])
        name = key
        if key in columns:
            both = pd.DataFrame({"a": columns[key].astype(object), "b": col.astype(object)}).dropna()
            if (both["a"].astype(str) == both["b"].astype(str)).all():
                if key == "seed":
                    columns[key] = col if columns[key].isna().all() else columns[key]
                continue
            name = f"{key}_kpi"
        columns[name] = col
        kpis.append(name)
    runs = pd.DataFrame(columns, index=pd.RangeIndex(len(metas))) if metas else pd.DataFrame(columns=list(META))
    return Batch(folder, runs, _daily(folder, runs, param_keys), param_keys, kpis)


def _column(values: list) -> pd.Series:
    """One typed column from mixed Python values (numbers stay numbers, else text)."""
    present = [v for v in values if v is not None and not (isinstance(v, float) and np.isnan(v))]
    if present and all(isinstance(v, bool) for v in present):
        return pd.Series([None if v is None else bool(v) for v in values], dtype="boolean")
    if present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        if all(isinstance(v, int) for v in present):
            return pd.Series(values, dtype="Int64" if len(present) < len(values) else "int64")
        return pd.Series([np.nan if v is None else float(v) for v in values], dtype="float64")
    if not present:
        return pd.Series([None] * len(values), dtype="float64")
    return pd.Series([None if v is None else str(v) for v in values], dtype="object")


def _daily(folder: Path, runs: pd.DataFrame, param_keys: list[str]) -> pd.DataFrame:
    """The ``metrics.parquet`` of every ok job, stacked, with the job's columns in front."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    front_cols = ["job", "config_hash", *param_keys, *(["seed"] if "seed" not in param_keys else [])]
    tables, rows = [], []
    for i in np.flatnonzero((runs["status"] == "ok").to_numpy()) if len(runs) else []:
        try:
            tables.append(pq.read_table(folder / runs["job"].iat[i] / "metrics.parquet"))
            rows.append(i)
        except (OSError, ValueError, pa.ArrowException):
            continue
    if not tables:
        return pd.DataFrame(columns=[*front_cols, "day"])
    lengths = [t.num_rows for t in tables]
    metrics = pa.concat_tables(tables, promote_options="default").to_pandas()
    head = runs.loc[rows, [c for c in front_cols if c in runs.columns]].loc[np.repeat(rows, lengths)]
    metrics = metrics.drop(columns=[c for c in head.columns if c in metrics.columns])
    return pd.concat([head.reset_index(drop=True), metrics], axis=1)
