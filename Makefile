# finkportal: `make demo` runs the cluster on embedded defaults; `make test` runs every check.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := $(PYTHON) -m uv
PYTEST_ARGS ?=
BENCH_QUERY_ARGS ?=
BENCH_PORTAL_ARGS ?=

.PHONY: install python-deps portal-assets system-deps lint typecheck test demo bench bench-ingest bench-index bench-query bench-fits bench-portal bench-storage clean

install: python-deps portal-assets

# uv comes from PyPI as a module of the machine's Python; everything else from the lock file.
python-deps:
	@$(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	@$(UV) sync --all-packages --frozen --quiet

# Aladin Lite for the portal, from npm (services/portal/package-lock.json); needs npm.
portal-assets:
	@bash scripts/install-portal-assets.sh

system-deps: python-deps
	@bash scripts/install-system-deps.sh

lint: install
	$(UV) run --frozen ruff check .

typecheck: install
	$(UV) run --frozen mypy

# system-deps (which may install npm) before the portal's assets, which need it.
test: python-deps system-deps install lint typecheck
	$(UV) run --frozen pytest $(PYTEST_ARGS)

demo: install
	$(UV) run --frozen finkportal demo

bench: bench-ingest bench-index bench-query bench-fits bench-portal

bench-ingest: install
	$(UV) run --frozen python -m bench.ingest

bench-index: install
	$(UV) run --frozen python -m bench.index

# Builds (once, cached in var/bench/query-store, ~52 GB) then measures 1,000,000 alerts;
# BENCH_QUERY_ARGS="--alerts 20000" for a small trial (its own var/bench/query-store-20000).
bench-query: install
	$(UV) run --frozen python -m bench.query $(BENCH_QUERY_ARGS)

# Fits per CPU-second of each model in-process, then the fitter service's request latency
# (cold and cached) on a store of simulated alerts; ~4 min on 2 cores.
bench-fits: install
	$(UV) run --frozen python -m bench.fits

# The query service on bench-query's cached store (same cache, built if missing) and the
# portal, then object pages timed in Debian's headless chromium (cold, warm, via the
# search bar); ~15 min on 2 cores. BENCH_PORTAL_ARGS="--objects 20" for a short trial.
bench-portal: python-deps system-deps install
	$(UV) run --frozen python -m bench.portal $(BENCH_PORTAL_ARGS)

bench-storage: install
	$(UV) run --frozen python bench/bench_storage.py

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
