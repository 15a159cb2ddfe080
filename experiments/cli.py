"""What every command shares: one-line errors and exit codes, output folders.

* Bad input (:class:`~sim.errors.ConfigError`): one line on stderr, exit 2.
* Ctrl-C: ``error: interrupted``, exit 130; SIGTERM: ``error: terminated``, exit 143
  (worker processes are ended; a batch writes its tables of the jobs that finished).
* Output folders: a default folder is new and unique (``<time>``, ``<time>_2``, ...,
  created atomically); a named one holding a finished run is refused unless
  ``overwrite=true``; a folder in use by a live process is refused (a lock); a refused
  command leaves no folder behind.

Imports here stay light: the heavy ones happen under :func:`command`, so Ctrl-C
during them is one line too.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sim.errors import ConfigError


class Terminated(SystemExit):
    """SIGTERM, raised in the main thread so that clean-up runs."""


def _terminate(signum, frame):
    raise Terminated(143)


def command(main: Callable[[list[str]], int], argv: list[str] | None = None, usage: str | None = None) -> int:
    """Run ``main(argv)`` and turn its end into an exit code: its own, 2 for bad input
    (one line), 130 for Ctrl-C, 143 for SIGTERM. With ``usage``, ``-h``, ``--help`` or
    ``help`` among the arguments prints it instead (exit 0)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if usage is not None and {"-h", "--help", "help"} & set(args):
        print(usage)
        return 0
    signal.signal(signal.SIGTERM, _terminate)
    try:
        return main(args)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print("error: terminated", file=sys.stderr)
        return 143
    except BrokenPipeError:  # `... | head`
        sys.stderr.close()
        return 141


class UsageError(ConfigError):
    """A command line that does not parse: ``<prog>: <what is wrong>``."""

    def __init__(self, prog: str, message: str):
        super().__init__("arguments", None, message)
        self.args = (f"{prog}: {message}",)

    def __str__(self) -> str:
        return self.args[0]


class ArgumentParser(argparse.ArgumentParser):
    """argparse whose errors are one line with exit code 2, as every refusal (via :func:`command`)."""

    def error(self, message: str):
        raise UsageError(self.prog, message)


def timestamp() -> str:
    return datetime.now().strftime("%Y-%m-%d_%H-%M-%S")


def new_folder(parent: str | Path, name: str | None = None) -> Path:
    """A new folder ``parent/<name or the time>``, or with ``_2``, ``_3``... if that exists:
    created here with ``mkdir`` (atomic), so two commands started in the same second get
    two folders."""
    parent = Path(parent)
    base = name or timestamp()
    _make_parents(parent, "out")
    for k in range(1, 10_000):
        path = parent / (base if k == 1 else f"{base}_{k}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
        except OSError as err:
            raise _unwritable("out", path, err) from None
    raise RuntimeError(f"{parent}: no free folder name")  # pragma: no cover


def claim_folder(path: str | Path, *, finished: Callable[[Path], bool], overwrite: bool = False,
                 key: str = "out") -> tuple[Path, bool]:
    """A folder the user named, for one run: created if missing (returns ``created``
    True); a finished run in it (``finished(path)``) is refused unless ``overwrite``.
    The caller locks it (``experiments.batch.FolderLock``) and, if the run is then
    refused, removes it when ``created``."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ConfigError(key, str(path), "is a file, not a folder")
    if path.is_dir():
        if finished(path) and not overwrite:
            raise ConfigError(key, str(path), "holds a finished run; pass overwrite=true to replace it, "
                                          "or choose another folder")
        if not os.access(path, os.W_OK):
            raise ConfigError(key, str(path), "cannot be written (permission denied)")
        return path, False
    _make_parents(path.parent, key)
    try:
        path.mkdir()
    except OSError as err:
        raise _unwritable(key, path, err) from None
    return path, True


def _make_parents(parent: Path, key: str) -> None:
    """``mkdir -p parent``; on failure, remove what was made and refuse in one line."""
    made = []
    for p in [*reversed(parent.parents), parent]:
        if p.exists():
            if not p.is_dir():
                raise ConfigError(key, str(parent), f"cannot be created: {p} is a file")
            continue
        try:
            p.mkdir()
            made.append(p)
        except OSError as err:
            for q in reversed(made):
                q.rmdir()
            raise _unwritable(key, parent, err) from None


def _unwritable(key: str, path: Path, err: OSError):
    return ConfigError(key, str(path), f"cannot be written ({err.strerror or err})")


def remove_folder(path: Path) -> None:
    """Remove a folder this command created (a refused run leaves nothing behind)."""
    shutil.rmtree(path, ignore_errors=True)
