"""Regenerate the sample outputs shown in README.md and docs/*.md: ``python scripts/docs_outputs.py``.

A fenced block right after a line ``<!-- output of: CMD -->`` shows what CMD prints on
stdout. This script runs each CMD (from the repository root, with this interpreter
for ``python``) and writes its output into the block; ``tests/test_docs.py`` runs the
commands again and fails if a block differs (output folder times aside), so no
sample output is typed by hand. ``--check`` only reports stale blocks (exit 1).
"""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MARKER = re.compile(r"<!-- output of: (.+?) -->\n```(\w*)\n(.*?)```", re.S)
TIME = re.compile(r"\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d(_\d+)?")


def docs() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]


def documented_outputs():
    """(file, command, the block's text) of every marked block."""
    for path in docs():
        for m in MARKER.finditer(path.read_text(encoding="utf-8")):
            yield path, m.group(1), normalize(m.group(3))


def normalize(text: str) -> str:
    """Output folder times replaced (they differ from run to run)."""
    return TIME.sub("<time>", text)


def produce(cmd: str) -> str:
    """What ``cmd`` prints on stdout, run from the repository root (normalized)."""
    words = shlex.split(cmd)
    if re.fullmatch(r"(\.venv/bin/)?python3?", words[0]):
        words[0] = sys.executable
    proc = subprocess.run(words, cwd=REPO, capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        raise RuntimeError(f"`{cmd}` failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return normalize(proc.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description="Regenerate (or --check) the sample outputs in the docs.")
    parser.add_argument("--check", action="store_true", help="report stale blocks, change nothing")
    args = parser.parse_args()
    stale = 0
    for path in docs():
        text = path.read_text(encoding="utf-8")

        def fill(m: re.Match) -> str:
            nonlocal stale
            raw = subprocess.run([sys.executable if w in ("python", ".venv/bin/python") else w
                                  for w in shlex.split(m.group(1))], cwd=REPO, capture_output=True, text=True,
                                 timeout=1800).stdout
            if normalize(raw) != normalize(m.group(3)):
                stale += 1
                print(f"{path.relative_to(REPO)}: `{m.group(1)}`" + (" is stale" if args.check else " updated"))
            return f"<!-- output of: {m.group(1)} -->\n```{m.group(2)}\n{raw}```"

        new = MARKER.sub(fill, text)
        if not args.check and new != text:
            path.write_text(new, encoding="utf-8")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
