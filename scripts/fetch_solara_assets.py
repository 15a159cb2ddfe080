"""Ship Solara's front-end assets into the venv, so that the demo renders with no network.

``solara run`` serves the browser's JavaScript, CSS and fonts from
``/_solara/cdn/<package>@<version>/<file>``. Solara's server looks for each file in
its proxy cache, ``<venv>/share/solara/cdn/<package>@<version>/<file>``
(``solara.server.settings.assets.proxy_cache_dir``), and downloads it from a
public CDN on a miss; with no network that download fails and the page stays
blank. This script fills the cache from the npm registry instead, with npm:

    .venv/bin/python scripts/fetch_solara_assets.py            # the packages the installed Solara asks for
    .venv/bin/python scripts/fetch_solara_assets.py --check    # exit 1 if one is missing (fetches nothing)
    .venv/bin/python scripts/fetch_solara_assets.py --extra vega@5 --extra vega-lite@5 --extra vega-embed@6

The package versions are read from the installed Solara's own files (its page
template, its settings and its grid-layout component), so they follow a Solara
upgrade. Each package is ``npm pack``-ed, unpacked to a temporary folder and
renamed into place: an interrupted run leaves no half-filled folder. Packages
already in the cache are skipped. ``--extra`` adds a package by the exact path
Solara requests (a semver range such as ``vega@5`` stays the folder name, as the
browser asks for ``vega@5/build/vega.min.js``); the demo needs none.

Solara serves from this cache only with its asset proxy on (the default:
``SOLARA_ASSETS_PROXY`` unset or true).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path


def solara_files() -> tuple[Path, Path]:
    """The installed Solara package folder and its proxy cache folder."""
    import solara
    from solara.server import settings

    return Path(solara.__file__).parent, Path(settings.assets.proxy_cache_dir)


def required_packages(solara_dir: Path) -> list[str]:
    """``name@version`` of every package the installed Solara's page and grid layout load."""
    from solara.server import settings

    specs: list[str] = []
    template = (solara_dir / "server" / "templates" / "solara.html.j2").read_text()
    # the Vuetify 2 app (ipyvuetify < 2, which Mesa needs) and requirejs, from the page template
    for pattern in (r"/(@widgetti/solara-vuetify-app@[\w.+-]+)/", r"/(requirejs@[\w.+-]+)/"):
        found = sorted(set(re.findall(pattern, template)))
        if not found:
            raise SystemExit(f"error: no {pattern!r} in {solara_dir}/server/templates/solara.html.j2: "
                             "this Solara's page template changed; update scripts/fetch_solara_assets.py")
        specs.extend(found)
    # font-awesome, from the settings (assets.fontawesome_path = "/font-awesome@4.5.0/css/...")
    if settings.assets.fontawesome_enabled:
        specs.append(settings.assets.fontawesome_path.strip("/").split("/")[0])
    # the draggable grid of Mesa's SolaraViz (solara.GridDraggable)
    grid = (solara_dir / "widgets" / "vue" / "gridlayout.vue").read_text()
    specs.extend(sorted(set(re.findall(r"/(@widgetti/vue-grid-layout@[\w.+-]+)/", grid))))
    return list(dict.fromkeys(specs))


def npm() -> str:
    exe = shutil.which("npm")
    if exe is None:
        raise SystemExit("error: npm not found; install Node.js and npm (Debian: apt-get install -y npm), "
                         "then run this script again")
    return exe


def fetch(spec: str, cache: Path, npm_exe: str) -> Path:
    """``npm pack`` one package and unpack it to ``cache/<spec>/``; returns that folder."""
    target = cache / spec
    if (target / "package.json").exists():
        print(f"have  {spec}")
        return target
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".fetch-", dir=cache) as tmp:
        out = subprocess.run([npm_exe, "pack", spec, "--json", "--pack-destination", tmp],
                             capture_output=True, text=True, cwd=tmp, check=False)
        if out.returncode != 0:
            raise SystemExit(f"error: npm pack {spec} failed:\n{out.stderr.strip()}")
        filename = json.loads(out.stdout)[0]["filename"]
        filename = Path(tmp) / Path(filename).name
        unpacked = Path(tmp) / "unpacked"
        with tarfile.open(filename) as tar:
            tar.extractall(unpacked, filter="data")
        package = unpacked / "package"
        if not (package / "package.json").exists():  # a few packages use another top folder
            (package,) = [p for p in unpacked.iterdir() if p.is_dir()]
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():  # a partial folder from an older tool: replace it
            shutil.rmtree(target)
        os.replace(package, target)
    size = sum(f.stat().st_size for f in target.rglob("*") if f.is_file())
    print(f"fetch {spec} -> {target} ({size / 1e6:.1f} MB)")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if a package is missing")
    parser.add_argument("--extra", action="append", default=[], metavar="NAME@VERSION",
                        help="another package, by the path Solara requests (repeatable)")
    parser.add_argument("--list", action="store_true", help="print the packages and exit")
    args = parser.parse_args(argv)

    solara_dir, cache = solara_files()
    specs = required_packages(solara_dir) + list(args.extra)
    if args.list:
        print("\n".join(specs))
        return 0
    if args.check:
        missing = [s for s in specs if not (cache / s / "package.json").exists()]
        for s in missing:
            print(f"missing {cache / s}", file=sys.stderr)
        if missing:
            print("run: .venv/bin/python scripts/fetch_solara_assets.py", file=sys.stderr)
        return 1 if missing else 0
    npm_exe = npm()
    for spec in specs:
        fetch(spec, cache, npm_exe)
    print(f"Solara assets in {cache}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
