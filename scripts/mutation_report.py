"""The kill rate of a mutation run (``make mutate``), from ``mutmut results --all true``.

Usage: ``python scripts/mutation_report.py mutants/results.txt`` (a file, or ``-`` for stdin).

Each line of mutmut's listing is ``<module>.<function>__mutmut_<n>: <status>``. Killed
and timed-out mutants count as killed; survivors listed in
``scripts/mutation_equivalent.txt`` (one mutant name a line, ``#`` starts a comment:
why it is equivalent or harmless) are left out of the rate; every other checked mutant
counts against it. Prints the counts by module and the survivors left to judge, and
exits 1 while the rate over non-equivalent mutants is below ``--target`` (90 %).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

EQUIVALENT = Path(__file__).with_name("mutation_equivalent.txt")
KILLED = {"killed", "timeout", "caught by type check"}
UNCHECKED = {"not checked", "skipped"}
LINE = re.compile(r"^\s*(?P<name>\S+__mutmut_\d+):\s*(?P<status>.+?)\s*$")


def read_equivalent(path: Path = EQUIVALENT) -> set[str]:
    if not path.exists():
        return set()
    names = (line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines())
    return {n for n in names if n}


def module_of(name: str) -> str:
    return name.split(".x", 1)[0] if ".x" in name else name.rsplit(".", 1)[0]


def report(lines: list[str], equivalent: set[str], target: float) -> int:
    status: dict[str, str] = {}
    for line in lines:
        m = LINE.match(line)
        if m:
            status[m["name"]] = m["status"]
    by_module: dict[str, Counter] = defaultdict(Counter)
    for name, st in status.items():
        kind = "killed" if st in KILLED else "unchecked" if st in UNCHECKED else (
            "equivalent" if name in equivalent else "survived")
        by_module[module_of(name)][kind] += 1
    total = Counter()
    print(f"{'module':<22}{'mutants':>8}{'killed':>8}{'equiv.':>8}{'survived':>9}{'unchecked':>10}")
    for module in sorted(by_module):
        c = by_module[module]
        total.update(c)
        print(f"{module:<22}{sum(c.values()):>8}{c['killed']:>8}{c['equivalent']:>8}{c['survived']:>9}"
              f"{c['unchecked']:>10}")
    print(f"{'all':<22}{sum(total.values()):>8}{total['killed']:>8}{total['equivalent']:>8}{total['survived']:>9}"
          f"{total['unchecked']:>10}")
    stale = sorted(n for n in equivalent if n in status and status[n] in KILLED)
    if stale:
        print(f"\nlisted as equivalent but killed now (remove from {EQUIVALENT.name}): " + ", ".join(stale))
    left = sorted(n for n, st in status.items() if st not in KILLED | UNCHECKED and n not in equivalent)
    if left:
        print(f"\nsurvivors not judged equivalent ({len(left)}): `mutmut show <name>` shows each")
        for name in left:
            print(f"    {name}: {status[name]}")
    checked = total["killed"] + total["survived"]
    if not checked:
        print("\nno mutant checked yet")
        return 1
    rate = total["killed"] / checked
    print(f"\nkill rate over non-equivalent mutants: {total['killed']}/{checked} = {rate:.1%}"
          + (f" ({total['unchecked']} not checked yet: run make mutate again to resume)" if total["unchecked"] else ""))
    return 0 if rate >= target and not total["unchecked"] else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", help="mutmut results --all true output, or - for stdin")
    parser.add_argument("--target", type=float, default=0.90)
    args = parser.parse_args(argv)
    text = sys.stdin.read() if args.results == "-" else Path(args.results).read_text(encoding="utf-8")
    return report(text.splitlines(), read_equivalent(), args.target)


if __name__ == "__main__":
    sys.exit(main())
