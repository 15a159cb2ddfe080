"""Resumable parameter sweeps on Hydra multirun (``python -m experiments.run -m ...``).

What this module adds to Hydra's multirun (details and examples: ``docs/sweeps.md``):

* **Fixed, named sweep folders.** ``conf/config.yaml`` puts a sweep in
  ``results/sweeps/${sweep_name}`` and each job in a sub-folder named after its
  overrides (``hydra.job.override_dirname`` made safe for a file name by the
  ``sweep_subdir`` resolver below; ``sweep_name``, ``report`` and ``progress``
  are left out of the name). Running the same sweep again (same ``sweep_name``)
  finds the same job folders.
* **Jobs keyed by their config.** :func:`job_key` hashes the resolved, validated
  simulation config (plus ``baseline``); the key is written into the job's
  ``job.json`` and ``summary.json`` (``config_hash``). :func:`run_sweep_job` (the
  task of every multirun job) skips a job whose ``summary.json`` carries the same
  key, and runs again one that failed, was killed, or whose config changed.
* **Failures are recorded, not raised.** A job that raises writes ``error.json``
  (type, message, traceback) and ``job.json`` with ``status: failed``, then
  returns normally, so Hydra's sweeper goes on with the other jobs. Every file is
  written atomically (``sim.outputs``), so a sweep killed halfway loses only the
  jobs in flight.
* **Progress and collection.** :class:`SweepCallback` (configured in
  ``conf/config.yaml`` under ``hydra.callbacks``) runs in the launching process:
  on ``on_multirun_start`` it writes the plan (``sweep.json``) and starts a thread
  that watches the job folders (jobs done, failed, running, left, time left; also
  written to ``progress.json``); on ``on_multirun_end`` it runs the collector
  (``experiments.collect``) that writes ``runs.parquet`` and ``daily.parquet``.

The progress thread reads the job folders, so it works with every launcher whose
jobs write to a file system the launching machine sees (joblib, a local Ray, the
submitit local executor, SLURM with a shared file system). Hydra's own launchers
report nothing back until the whole batch has returned.

This module is app glue: the simulation core (``sim/``) knows nothing of it.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import math
import os
import re
import socket
import sys
import threading
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

#: Files of a job folder (besides the run outputs of ``sim.outputs.write_run``).
JOB_FILE = "job.json"
ERROR_FILE = "error.json"
SUMMARY_FILE = "summary.json"
#: Files of a sweep folder.
PLAN_FILE = "sweep.json"
PROGRESS_FILE = "progress.json"

#: Top-level keys that change neither the simulation nor its summary: not part of
#: the job key, nor of the job folder's name.
NOT_IN_KEY = ("report", "progress", "sweep_name")
#: Longest job folder name; longer override lists are cut and end in a hash.
MAX_SUBDIR = 120


# ---------------------------------------------------------------------------- job folder names
def job_subdir(override_dirname: str) -> str:
    """A job folder name from Hydra's ``override_dirname`` (``a=1,b=x``).

    ``/`` and other characters a file name cannot hold become ``_``; an empty
    name (a multirun without overrides) is ``default``; a name longer than
    ``MAX_SUBDIR`` keeps its start and ends in ``~`` and a hash of the whole.
    """
    name = str(override_dirname or "")
    if not name:
        return "default"
    safe = re.sub(r"[/\\\x00:*?\"<>|\s]", "_", name)
    if safe.startswith("."):
        safe = "_" + safe[1:]  # a dot-prefixed folder is hidden from the collector
    if len(safe) > MAX_SUBDIR:
        digest = hashlib.sha1(name.encode()).hexdigest()[:12]
        safe = f"{safe[: MAX_SUBDIR - 13]}~{digest}"
    return safe


def register_resolvers() -> None:
    """``${sweep_subdir:${hydra.job.override_dirname}}`` for ``hydra.sweep.subdir``."""
    if not OmegaConf.has_resolver("sweep_subdir"):
        OmegaConf.register_new_resolver("sweep_subdir", job_subdir)


register_resolvers()


# ---------------------------------------------------------------------------- job key
def _plain(cfg: DictConfig | dict) -> dict:
    """The resolved config without ``hydra`` and the keys of ``NOT_IN_KEY`` (the hydra
    node is left out before resolving: outside a job it does not resolve)."""
    if isinstance(cfg, DictConfig):
        data = {}
        for key in cfg.keys():
            if key == "hydra" or key in NOT_IN_KEY:
                continue
            value = cfg[key]
            data[key] = OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value
        return data
    data = dict(cfg)
    data.pop("hydra", None)
    for key in NOT_IN_KEY:
        data.pop(key, None)
    return data


def job_key(cfg: DictConfig | dict) -> str:
    """16 hex digits of the SHA-256 of the resolved, validated simulation config and
    ``baseline``. Two spellings of the same market (``seed=3`` vs the default 3, a
    scenario vs its keys) give the same key. A config that does not validate is
    hashed as given (prefix ``raw``), so its failure is still keyed."""
    from experiments.run import to_sim_config
    from sim.errors import ConfigError

    data = _plain(cfg)
    try:
        sim = to_sim_config(data)
        payload: dict = {"sim": dataclasses.asdict(sim), "baseline": bool(data.get("baseline", True))}
        prefix = ""
    except ConfigError:
        payload, prefix = {"raw": data}, "raw"
    text = json.dumps(payload, sort_keys=True, default=repr, allow_nan=True)
    return prefix + hashlib.sha256(text.encode()).hexdigest()[:16 - len(prefix)]


def parse_overrides(overrides: list[str]) -> dict[str, Any]:
    """``{key: value}`` of a job's overrides (``hydra.overrides.task``), values typed:
    ``seed=3`` -> 3, ``campaign=referral`` -> "referral", ``campaign=[a,b]`` -> "a+b"."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create()
    out: dict[str, Any] = {}
    for text in overrides:
        try:
            ov = parser.parse_override(text)
        except Exception:  # noqa: BLE001 - keep the raw text rather than lose the column
            key, _, value = text.partition("=")
            out[key.lstrip("+~")] = value
            continue
        if ov.is_delete():
            continue
        value = ov.value()
        if isinstance(value, (list, tuple)):
            value = "+".join(map(str, value))
        elif isinstance(value, dict):
            value = json.dumps(value, sort_keys=True)
        out[ov.key_or_group] = value
    return out


def swept_params(overrides: list[str]) -> dict[str, Any]:
    """:func:`parse_overrides` without the keys that change nothing (``report``,
    ``progress``, ``sweep_name``): the columns of a job in ``runs.parquet``."""
    return {k: v for k, v in parse_overrides(overrides).items() if k not in NOT_IN_KEY}


# ---------------------------------------------------------------------------- job records
def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def read_json(path: Path) -> dict | None:
    """A JSON file, or None if it is missing or unreadable."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def is_done(job_dir: Path, key: str) -> bool:
    """The job folder holds a finished run of the config with this key."""
    if key.startswith("bad"):
        return False
    summary = read_json(Path(job_dir) / SUMMARY_FILE)
    return bool(summary) and summary.get("config_hash") == key


def _write_job(job_dir: Path, record: dict) -> None:
    from sim.outputs import write_json

    write_json(record, Path(job_dir) / JOB_FILE)


def run_sweep_job(cfg: DictConfig, job_dir: str | Path, overrides: list[str] | None = None,
                  *, report: bool = False, run=None) -> dict:
    """The task of one multirun job: skip it if done, else run it and record the outcome.

    ``run(cfg, job_dir, extra_summary)`` simulates and writes the outputs
    (default: :func:`experiments.run.run_once` without console output). Never
    raises for a failing job (``Exception``): the error is written to
    ``error.json`` and ``job.json`` and returned as ``{"status": "failed", ...}``.
    """
    job_dir = Path(job_dir)
    job_dir.mkdir(parents=True, exist_ok=True)
    overrides = [str(o) for o in (overrides or [])]
    start = time.perf_counter()
    try:
        key = job_key(cfg)
    except Exception:  # noqa: BLE001 - e.g. an interpolation that does not resolve: fails below, keyed
        key = "bad" + hashlib.sha256(" ".join(sorted(overrides)).encode()).hexdigest()[:13]
    previous = read_json(job_dir / JOB_FILE) or {}
    record = {
        "key": key, "status": "running", "overrides": overrides, "params": swept_params(overrides),
        "seed": cfg.get("seed"), "attempt": int(previous.get("attempt", 0)) + 1,
        "started": _now(), "host": socket.gethostname(), "pid": os.getpid(), "t_start": time.time(),
    }
    if is_done(job_dir, key):
        record.update(previous)
        record.update(status="ok", key=key, skipped=int(previous.get("skipped", 0)) + 1, checked=_now())
        record.pop("error", None)
        _write_job(job_dir, record)
        return {"status": "skipped", "key": key}

    _write_job(job_dir, record)
    for stale in (job_dir / SUMMARY_FILE, job_dir / "baseline" / SUMMARY_FILE, job_dir / ERROR_FILE):
        stale.unlink(missing_ok=True)
    try:
        if run is None:
            from experiments.run import run_once

            def run(c, d, extra):  # noqa: E306 - the default runner
                return run_once(c, d, echo=False, report=report, progress=False, extra_summary=extra)

        run(cfg, job_dir, {"config_hash": key})
    except Exception as err:  # noqa: BLE001 - a failing job must not stop the sweep
        from sim.errors import ConfigError
        from sim.outputs import write_json

        message = str(err) if isinstance(err, ConfigError) else f"{type(err).__name__}: {err}"
        message = message.strip().splitlines()[0] if message.strip() else type(err).__name__
        write_json({"key": key, "error_type": type(err).__name__, "message": message,
                    "traceback": traceback.format_exc(), "overrides": overrides}, job_dir / ERROR_FILE)
        record.update(status="failed", error=message, error_type=type(err).__name__,
                      finished=_now(), job_seconds=round(time.perf_counter() - start, 3), t_end=time.time())
        _write_job(job_dir, record)
        clear = "\r\x1b[K" if getattr(sys.stderr, "isatty", lambda: False)() else ""  # over the progress line
        print(f"{clear}error: job {job_dir.name}: {message}", file=sys.stderr, flush=True)
        return {"status": "failed", "key": key, "error": message}
    record.update(status="ok", finished=_now(), job_seconds=round(time.perf_counter() - start, 3),
                  t_end=time.time())
    _write_job(job_dir, record)
    return {"status": "ok", "key": key}


# ---------------------------------------------------------------------------- finished jobs, before launching
def mark_skipped(job_dir: Path, key: str) -> None:
    """Record in ``job.json`` that a finished job was found again (counted as skipped)."""
    record = read_json(Path(job_dir) / JOB_FILE) or {}
    record.update(status="ok", key=key, skipped=int(record.get("skipped", 0)) + 1, checked=_now())
    record.pop("error", None)
    _write_job(job_dir, record)


class _Keys:
    """Job keys without composing every job: compose once per set of config-group
    overrides (a template, resolved), then set the plain ``key=value`` overrides on a
    copy, as Hydra applies them after composing. The first job of each template is
    also composed in full; if the two keys differ, this gives up (returns None). A
    wrong key can only make a finished job run again (it then skips itself), never
    skip one that is not finished: the stored key was computed where the job ran."""

    def __init__(self, loader, master: DictConfig):
        from hydra.core.override_parser.overrides_parser import OverridesParser

        self.loader, self.master = loader, master
        self.parser = OverridesParser.create(config_loader=loader)
        self.parsed: dict[str, Any] = {}
        self.groups: dict[str, bool] = {}
        self.templates: dict[tuple, Any] = {}
        self.broken = False

    def _parse(self, text: str):
        if text not in self.parsed:
            self.parsed[text] = self.parser.parse_override(text)
        return self.parsed[text]

    def _is_group(self, key: str) -> bool:
        if key not in self.groups:
            try:
                self.groups[key] = bool(self.loader.get_group_options(key))
            except Exception:  # noqa: BLE001
                self.groups[key] = True
        return self.groups[key]

    def key(self, overrides: list[str]) -> str | None:
        if self.broken:
            return None
        parsed = [self._parse(o) for o in overrides]
        if any(p.is_add() or p.is_delete() or p.is_force_add() or p.package is not None or p.is_sweep_override()
               for p in parsed):
            return None
        groups = tuple(sorted(o for o, p in zip(overrides, parsed) if self._is_group(p.key_or_group)))
        plain = [p for p in parsed if not self._is_group(p.key_or_group)]
        first = groups not in self.templates
        if first:
            self.templates[groups] = _plain(self.loader.load_sweep_config(self.master, list(groups)))
        data = copy.deepcopy(self.templates[groups])
        for p in plain:
            if p.key_or_group in NOT_IN_KEY:
                continue  # not part of the key (nor of the template)
            value = p.value()
            if isinstance(value, (dict, list, tuple)):
                return None  # merged, not replaced, by Hydra: compose instead
            node, *path = [data, *p.key_or_group.split(".")]
            for part in path[:-1]:
                if not isinstance(node.get(part), dict):
                    return None
                node = node[part]
            if path[-1] not in node:
                return None
            node[path[-1]] = value
        key = job_key(data)
        if first and key != job_key(self.loader.load_sweep_config(self.master, list(overrides))):
            self.broken = True
            return None
        return key


def skip_finished(batch: list[list[str]], config: DictConfig, loader) -> list[list[str]]:
    """The jobs of ``batch`` to launch: those whose folder does not hold a finished run
    of the same config (a ``summary.json`` with the job's key). The others are marked
    skipped in their ``job.json`` here, in the launching process, so a re-run of a
    finished sweep does not start a Hydra job for each of them. Only with the default
    ``hydra.sweep.subdir`` (job folders named by their overrides); a job this cannot
    key cheaply (``+key``, ``~key``) is launched and checked where it runs."""
    if not _uses_default_subdir(config):
        return list(batch)
    sweep_dir = Path(str(config.hydra.sweep.dir))
    keys = None
    todo = []
    for overrides in batch:
        folder = sweep_dir / subdir_of(overrides, config)
        summary = read_json(folder / SUMMARY_FILE)
        if summary is None or not summary.get("config_hash"):
            todo.append(overrides)
            continue
        if keys is None:
            keys = _Keys(loader, config)
        try:
            key = keys.key(list(overrides))
        except Exception:  # noqa: BLE001 - the job itself will say what is wrong
            key = None
        if key is not None and key == summary.get("config_hash"):
            mark_skipped(folder, key)
        else:
            todo.append(overrides)
    return todo


# ---------------------------------------------------------------------------- the plan
def planned_jobs(config: DictConfig) -> list[list[str]] | None:
    """Every job's overrides, as Hydra's basic sweeper will make them (None if the
    sweeper is another kind or the overrides need the config loader, e.g. ``glob``)."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    target = str(OmegaConf.select(config, "hydra.sweeper._target_", default="") or "")
    if target not in ("hydra._internal.core_plugins.basic_sweeper.BasicSweeper",
                      "hydra_plugins.socialsim_sweeper.SocialsimSweeper"):
        return None
    params = OmegaConf.select(config, "hydra.sweeper.params", default=None) or {}
    arguments = [f"{k}={v}" for k, v in params.items()]
    arguments += list(OmegaConf.to_container(config.hydra.overrides.task, resolve=False))
    try:
        parsed = OverridesParser.create().parse_overrides(arguments)
        batches = BasicSweeper.split_arguments(parsed, None)
    except Exception:  # noqa: BLE001 - progress then counts without a total
        return None
    return [list(job) for batch in batches for job in batch]


def subdir_of(overrides: list[str], config: DictConfig) -> str:
    """The job folder name Hydra will give these overrides (``override_dirname`` +
    :func:`job_subdir`), if ``hydra.sweep.subdir`` is the default of conf/config.yaml."""
    od = config.hydra.job.config.override_dirname
    exclude = set(od.exclude_keys)
    # as hydra._internal.config_loader_impl.get_overrides_dirname (Hydra 1.3): a job's
    # override strings are the parsed overrides' input lines, its key is before '=', '@'
    lines = sorted(o for o in overrides if o.split("=", 1)[0].lstrip("+~").split("@", 1)[0] not in exclude)
    return job_subdir(re.sub("[=]", od.kv_sep, od.item_sep.join(lines)))


def _uses_default_subdir(config: DictConfig) -> bool:
    raw = OmegaConf.to_container(config.hydra.sweep, resolve=False).get("subdir", "")
    return "sweep_subdir" in str(raw) and "override_dirname" in str(raw)


def write_plan(config: DictConfig) -> dict:
    """``sweep.json`` in the sweep folder: name, command overrides and the planned jobs
    (overrides and folder of each; ``jobs`` is null when not known in advance)."""
    from sim.outputs import write_json

    sweep_dir = Path(str(config.hydra.sweep.dir))
    jobs = planned_jobs(config)
    plan = {
        "sweep_name": sweep_dir.name,
        "created": _now(),
        "overrides": list(OmegaConf.to_container(config.hydra.overrides.task, resolve=False)),
        "launcher": str(OmegaConf.select(config, "hydra.launcher._target_", default="") or ""),
        "jobs": None,
    }
    if jobs is not None:
        known = _uses_default_subdir(config)
        plan["jobs"] = [{"overrides": job, "subdir": subdir_of(job, config) if known else None}
                        for job in jobs]
    write_json(plan, sweep_dir / PLAN_FILE)
    return plan


# ---------------------------------------------------------------------------- progress
def _duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "?"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class Progress:
    """Counts the planned jobs' outcomes from their folders, in a thread.

    A job counts as ``ok`` (run to the end in this sweep), ``skipped`` (found done),
    ``failed`` or ``running`` once its ``job.json`` was written after the sweep
    started. ``left`` = total − ok − skipped − failed; the time left is ``left``
    times the mean time between finished jobs so far.
    """

    def __init__(self, sweep_dir: Path, subdirs: list[str] | None, name: str = "sweep",
                 interval: float = 2.0, stream=None, write_file: bool = True, total: int | None = None):
        self.sweep_dir = Path(sweep_dir)
        self.subdirs = subdirs
        self.total = len(subdirs) if subdirs is not None else total
        self.name = name
        self.interval = interval
        self.stream = stream if stream is not None else sys.stderr
        self.write_file = write_file
        self.start_wall = time.time()
        self.start = time.perf_counter()
        self._final: dict[str, str] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_line = ""
        self._last_printed = ""
        self._last_print = 0.0
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())

    # -- counting
    def _folders(self) -> list[str]:
        if self.subdirs is not None:
            return self.subdirs
        try:
            return sorted(e.name for e in os.scandir(self.sweep_dir) if e.is_dir() and not e.name.startswith("."))
        except OSError:
            return []

    def poll(self) -> dict:
        counts = {"ok": 0, "skipped": 0, "failed": 0, "running": 0}
        for sub in self._folders():
            if sub in self._final:
                counts[self._final[sub]] += 1
                continue
            path = self.sweep_dir / sub / JOB_FILE
            try:
                if path.stat().st_mtime < self.start_wall - 1:
                    continue  # from an earlier sweep, not touched yet
            except OSError:
                continue
            rec = read_json(path) or {}
            status = rec.get("status")
            if status == "ok":
                state = "skipped" if rec.get("checked") and rec.get("checked") >= _iso(self.start_wall) else "ok"
            elif status == "failed":
                state = "failed"
            elif status == "running":
                counts["running"] += 1
                continue
            else:
                continue
            self._final[sub] = state
            counts[state] += 1
        total = self.total
        finished = counts["ok"] + counts["skipped"] + counts["failed"]
        elapsed = time.perf_counter() - self.start
        left = None if total is None else max(0, total - finished)
        rate_n = counts["ok"] + counts["failed"] + counts["skipped"]
        eta = None if left is None or rate_n == 0 else left * elapsed / rate_n
        return {"sweep": self.name, "total": total, **counts, "left": left,
                "elapsed_s": round(elapsed, 1), "eta_s": None if eta is None else round(eta, 1),
                "updated": _now()}

    def line(self, p: dict) -> str:
        finished = p["ok"] + p["skipped"] + p["failed"]
        total = "?" if p["total"] is None else p["total"]
        text = (f"sweep {p['sweep']}: {finished}/{total} done (ok {p['ok']}, skipped {p['skipped']}, "
                f"failed {p['failed']}), {p['running']} running")
        if p["left"] is not None:
            text += f", {p['left']} left"
        text += f" | {_duration(p['elapsed_s'])} elapsed"
        if p["left"] and p["eta_s"] is not None:
            text += f", ~{_duration(p['eta_s'])} left"
        return text

    def report(self, final: bool = False) -> dict:
        p = self.poll()
        if self.write_file:
            from sim.outputs import write_json

            try:
                write_json({**p, "final": final}, self.sweep_dir / PROGRESS_FILE)
            except OSError:
                pass
        text = self.line(p)
        now = time.perf_counter()
        if self._tty:
            if text != self._last_line or final:
                self.stream.write("\r\x1b[K" + text + ("\n" if final else ""))
                self.stream.flush()
        elif (final and text != self._last_printed) or (
                text != self._last_line and now - self._last_print >= max(self.interval, 10.0)):
            self.stream.write(text + "\n")
            self.stream.flush()
            self._last_print = now
            self._last_printed = text
        self._last_line = text
        return p

    # -- thread
    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.report()
            except Exception:  # noqa: BLE001 - progress must never break a sweep
                pass

    def start_thread(self) -> "Progress":
        self._thread = threading.Thread(target=self._loop, name="sweep-progress", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> dict:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        return self.report(final=True)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(int(epoch), timezone.utc).isoformat(timespec="seconds")


class _Null:
    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


# ---------------------------------------------------------------------------- the callback
try:
    from hydra.experimental.callback import Callback as _Callback
except ImportError:  # pragma: no cover - hydra-core < 1.1
    _Callback = object


class SweepCallback(_Callback):
    """Hydra callback (``hydra.callbacks.sweep`` in conf/config.yaml): sweep plan,
    progress and collection, in the launching process. Inactive in single runs.

    ``progress``: show progress (default: the app's top-level ``progress``);
    ``interval``: seconds between progress checks; ``collect``: write
    ``runs.parquet`` and ``daily.parquet`` at the end of the multirun.
    """

    def __init__(self, progress: bool = True, interval: float = 2.0, collect: bool = True):
        self.progress = bool(progress)
        self.interval = float(interval)
        self.collect = bool(collect)
        self._progress: Progress | None = None

    def __getstate__(self):  # shipped to every job with the Hydra context: no thread
        return {"progress": self.progress, "interval": self.interval, "collect": self.collect,
                "_progress": None}

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(str(config.hydra.sweep.dir))
        try:
            plan = write_plan(config)
        except Exception as err:  # noqa: BLE001 - no plan: progress without a total
            print(f"warning: sweep plan not written: {err}", file=sys.stderr)
            plan = {"jobs": None, "sweep_name": sweep_dir.name}
        jobs = plan.get("jobs")
        subdirs = None
        if jobs is not None and all(j.get("subdir") for j in jobs):
            subdirs = list(dict.fromkeys(j["subdir"] for j in jobs))
            if len(subdirs) < len(jobs):
                print(f"warning: {len(jobs) - len(subdirs)} jobs share a folder with another job: they differ "
                      f"only in {', '.join(NOT_IN_KEY)}, which do not name job folders", file=sys.stderr)
        n = "?" if jobs is None else len(jobs)
        print(f"sweep {sweep_dir.name}: {n} jobs -> {sweep_dir}/", file=sys.stderr, flush=True)
        self._progress = Progress(sweep_dir, subdirs, name=sweep_dir.name, interval=self.interval,
                                  stream=sys.stderr if self.progress else _Null(),
                                  total=None if jobs is None else len(jobs))
        self._progress.start_thread()

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(str(config.hydra.sweep.dir))
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        if self.collect:
            from experiments.collect import collect, describe

            result = collect(sweep_dir)
            print(describe(result, sweep_dir), file=sys.stderr, flush=True)
