# The two commands a newcomer runs: `make site` and `make test` (see README).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CORES ?= all

.PHONY: site test lint bench bench-quick clean screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Stamps so a second `make` does not reinstall; pyproject changes do.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install -q -e '.[test,cluster]'
	touch $@

site: $(VENV)/.installed
	$(BIN)/snakemake --cores $(CORES)
	@echo "The site is ready: file://$(CURDIR)/site/index.html"

# graphology-gexf, which Gephi Lite opens GEXF files with (tests/test_networks.py)
GEPHI_LITE := tests/gephi_lite
$(GEPHI_LITE)/node_modules/.installed: $(GEPHI_LITE)/package-lock.json
	@if ! command -v npm >/dev/null 2>&1; then \
	  echo "npm not found: the Gephi Lite test is skipped (Debian: apt-get install npm)"; \
	elif npm ci --prefix $(GEPHI_LITE) --no-audit --no-fund --silent; then touch $@; \
	else echo "npm ci failed: the Gephi Lite test is skipped"; fi

# one test process per core (pytest-xdist); tests that share a resource of the machine
# (the Slurm cluster) take turns through a lock of their own
test: $(VENV)/.installed-test $(GEPHI_LITE)/node_modules/.installed
	$(BIN)/pytest -n auto

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/snakemake --lint

bench: $(VENV)/.installed-test
	$(BIN)/python -m bench

bench-quick: $(VENV)/.installed-test
	$(BIN)/python -m bench --quick

clean:
	rm -rf data site logs .snakemake

# README screenshots of the built site, in Debian's chromium
screenshots: site $(VENV)/.installed-test
	$(BIN)/python -m dnflow.site.screenshot site docs/screenshots
