# The two commands of the README: `make run` and `make test`. Both set up everything they need and are
# cheap to run again: each install step is redone only when the file that drives it has changed.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed

.PHONY: run test lint deps browser clean

run: deps ## Start the embedded MongoDB, load the demo workspace and serve http://127.0.0.1:$${SCRM_PORT:-8000}
	$(BIN)/scrm up --demo

test: deps browser lint ## Lint, types, import contracts and the whole test suite
	$(BIN)/pytest

lint: deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

deps: $(PY_STAMP) $(NPM_STAMP)

$(PY_STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[embedded,dev]'
	@touch $@

$(NPM_STAMP): package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $@

package-lock.json: package.json
	npm install --package-lock-only --ignore-scripts --no-audit --no-fund --loglevel=error

browser: ## Debian's chromium and a CJK font for the browser tests (Playwright drives it; no browser download)
	@missing=""; \
	  command -v chromium >/dev/null || missing="$$missing chromium"; \
	  fc-list :lang=zh 2>/dev/null | grep -q . || missing="$$missing fonts-noto-cjk"; \
	  if [ -n "$$missing" ]; then \
	    echo "Installing Debian packages for the browser tests:$$missing"; \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	  fi

clean:
	rm -rf $(VENV) node_modules .mypy_cache .ruff_cache .pytest_cache
