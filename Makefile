# One way to do each thing: make run, make test, make lint, make bench.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: run test lint bench install assets clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(INSTALLED): pyproject.toml package.json package-lock.json | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(MAKE) --no-print-directory assets
	touch $@

# Front-end libraries and fonts come from the npm registry at install time; the app serves
# the copies under static/vendor/ (gitignored). No CDN at run time, no third-party code
# committed. Without npm the app still runs, its pages unstyled by the vendor files.
# --ignore-scripts: none of these packages needs an install script (swagger-ui-dist's
# dependency would only report the download).
VENDOR := src/shahr/kernel/web/static/vendor
NPM_MODULES := node_modules
assets:
	@if ! command -v npm >/dev/null 2>&1; then \
	  echo "warning: npm not found; pages will run without Leaflet, htmx, Swagger UI and Vazirmatn" >&2; \
	  exit 0; \
	fi; \
	set -e; \
	if [ -f package-lock.json ]; then npm ci --ignore-scripts --no-audit --no-fund --loglevel=error; \
	else npm install --ignore-scripts --no-audit --no-fund --loglevel=error; fi; \
	rm -rf $(VENDOR); \
	mkdir -p $(VENDOR)/leaflet/images $(VENDOR)/leaflet.markercluster $(VENDOR)/htmx $(VENDOR)/swagger-ui $(VENDOR)/vazirmatn; \
	cp $(NPM_MODULES)/leaflet/dist/leaflet.js $(NPM_MODULES)/leaflet/dist/leaflet.css \
	   $(NPM_MODULES)/leaflet/LICENSE $(VENDOR)/leaflet/; \
	cp $(NPM_MODULES)/leaflet/dist/images/*.png $(VENDOR)/leaflet/images/; \
	cp $(NPM_MODULES)/leaflet.markercluster/dist/leaflet.markercluster.js \
	   $(NPM_MODULES)/leaflet.markercluster/dist/MarkerCluster.css \
	   $(NPM_MODULES)/leaflet.markercluster/dist/MarkerCluster.Default.css \
	   $(NPM_MODULES)/leaflet.markercluster/MIT-LICENCE.txt $(VENDOR)/leaflet.markercluster/; \
	cp $(NPM_MODULES)/htmx.org/dist/htmx.min.js $(NPM_MODULES)/htmx.org/LICENSE $(VENDOR)/htmx/; \
	cp $(NPM_MODULES)/swagger-ui-dist/swagger-ui-bundle.js $(NPM_MODULES)/swagger-ui-dist/swagger-ui.css \
	   $(NPM_MODULES)/swagger-ui-dist/LICENSE $(NPM_MODULES)/swagger-ui-dist/NOTICE $(VENDOR)/swagger-ui/; \
	cp '$(NPM_MODULES)/vazirmatn/fonts/webfonts/Vazirmatn[wght].woff2' $(VENDOR)/vazirmatn/Vazirmatn-Variable.woff2; \
	cp $(NPM_MODULES)/vazirmatn/OFL.txt $(VENDOR)/vazirmatn/; \
	echo "assets: front-end libraries copied to $(VENDOR)"

install: $(INSTALLED)

run: install
	$(BIN)/shahr serve --demo

# A pytest-xdist worker per CPU, each with its own PostgreSQL database and Redis db
# (tests/conftest.py says how, and which tests one worker takes together);
# `make test TEST_WORKERS=0` runs the suite in one process. The browser tests run after
# the rest, alone: their demo server on SQLite must not starve beside SUMO and the other
# worker (decision 0036). Both parts always run; either failing fails the target.
TEST_WORKERS ?= logical
test: install
	@status=0; \
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadgroup --ignore=tests/browser || status=$$?; \
	$(BIN)/pytest -p no:xdist tests/browser || status=$$?; \
	exit $$status

lint: install
	$(BIN)/ruff check src tests bench migrations
	$(BIN)/ruff format --check src tests bench migrations
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: install
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -q wrk >/dev/null; } \
	  || { echo "make bench needs wrk (Debian package 'wrk')"; exit 1; }
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) var node_modules
