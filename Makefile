# socialsim: make install | run | test | test-slow | mutate | bench | demo | clean
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# A Python >= 3.12: one on PATH first, else pyenv's, else stop with what to install.
define find_python
for p in python3.14 python3.13 python3.12 python3 python; do \
  c=$$(command -v $$p 2>/dev/null) || continue; \
  $$c -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null && { echo $$c; exit 0; }; \
done; \
if command -v pyenv >/dev/null 2>&1; then \
  for v in $$(pyenv versions --bare 2>/dev/null | grep -E '^3\.(1[2-9]|[2-9][0-9])' | sort -rV); do \
    c="$$(pyenv root)/versions/$$v/bin/python3"; [ -x "$$c" ] && { echo $$c; exit 0; }; \
  done; \
fi; exit 1
endef

.PHONY: install run test test-slow mutate mutate-report bench clean demo demo-install

$(STAMP): pyproject.toml
	@BASE=$$($(find_python)) || { echo "error: Python >= 3.12 is required (Mesa >= 3.4 needs it). Install one, e.g. 'pyenv install 3.12', or put python3.12 on PATH." >&2; exit 1; }; \
	echo "Creating $(VENV) with $$BASE"; \
	$$BASE -m venv $(VENV) && \
	$(PY) -m pip install --quiet --upgrade pip && \
	$(PY) -m pip install --quiet -e '.[test]' && touch $(STAMP)

install: $(STAMP)

DEMO_STAMP := $(VENV)/.demo-installed
DEMO_HOST ?= 127.0.0.1
PRESET ?=
DEMO_PORT ?= 8765

# The demo's extra (Solara, playwright) and Solara's front-end files in the venv (offline pages).
$(DEMO_STAMP): $(STAMP) pyproject.toml scripts/fetch_solara_assets.py
	$(PY) -m pip install --quiet -e '.[test,demo,sweep,cluster]' && $(PY) scripts/fetch_solara_assets.py && touch $(DEMO_STAMP)

demo-install: $(DEMO_STAMP)

# The live browser demo on http://$(DEMO_HOST):$(DEMO_PORT) (127.0.0.1 only unless DEMO_HOST=0.0.0.0);
# PRESET=file.yaml applies a preset file of overrides before the sidebar's.
demo: $(DEMO_STAMP)
	SOLARA_TELEMETRY_MIXPANEL_ENABLE=false SOCIALSIM_PRESET=$(PRESET) $(PY) -m solara run experiments.demo.app \
	  --host $(DEMO_HOST) --port $(DEMO_PORT) --production --no-open

run: $(STAMP)
	$(PY) -m experiments.run $(ARGS)

# The suite on every core (pytest-xdist; a test file's tests stay on one worker).
test: $(STAMP)
	$(PY) -m pytest -q -n auto --dist loadfile $(ARGS)

# The heavy checks, one at a time: the demo server, the benchmarks, the documented commands
# that take minutes, the memory estimate at 10^6 consumers, a sweep killed again and again.
test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow $(ARGS)

# Mutation testing of the consumer's rules and the ledger (mutmut, [tool.mutmut] in pyproject.toml),
# by hand, not in CI: hours on 2 cores. mutmut keeps its results in mutants/, so an interrupted
# run resumes where it stopped (rm -rf mutants/ to start afresh). MUTATE_JOBS=N sets the workers.
MUTATE_STAMP := $(VENV)/.mutate-installed
MUTATE_JOBS ?= 2

$(MUTATE_STAMP): $(STAMP) pyproject.toml
	$(PY) -m pip install --quiet -e '.[test,mutate]' && touch $(MUTATE_STAMP)

mutate: $(MUTATE_STAMP)
	$(VENV)/bin/mutmut run --max-children $(MUTATE_JOBS) $(ARGS); status=$$?; \
	$(VENV)/bin/mutmut results --all true > mutants/results.txt 2>&1; \
	$(PY) scripts/mutation_report.py mutants/results.txt; exit $$status

# The kill rate of the last (or current) run, without running anything.
mutate-report: $(MUTATE_STAMP)
	$(VENV)/bin/mutmut results --all true > mutants/results.txt 2>&1; $(PY) scripts/mutation_report.py mutants/results.txt

bench: $(STAMP)
	$(PY) -m benchmarks.scale $(ARGS)

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache mutants
