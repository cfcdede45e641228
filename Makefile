# make run / make test work on a fresh clone with only Python 3.11+:
# .venv is created when missing and `pip install -e '.[dev]'` runs again only
# when pyproject.toml is newer than the stamp it leaves.

# The first of these that is Python 3.11 or newer; override with `make PYTHON=/path/to/python3.12`.
PYTHON ?= $(shell for p in python3 python3.13 python3.12 python3.11; do \
	  $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 && { echo $$p; break; }; \
	done)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.stagecraft-installed
DEMO ?= examples/online-store
HOST ?= 127.0.0.1
PORT ?= 8000

CODE := metamodel dsl workflow api admin_ui

.PHONY: install run test lint typecheck imports pytest audit-deps bench clean

install: $(STAMP)

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "make: no Python 3.11+ found (tried python3, python3.13, python3.12, python3.11); set PYTHON=..." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

# `stagecraft demo` loads the sample data once (later runs say so and change nothing).
run: $(STAMP)
	$(BIN)/stagecraft demo --blueprint $(DEMO) --url http://$(HOST):$(PORT)
	$(BIN)/stagecraft serve --host $(HOST) --port $(PORT) --demo $(DEMO)

test: lint typecheck imports pytest

lint: $(STAMP)
	$(BIN)/ruff check $(CODE) tests bench

# Strictness per package comes from [tool.mypy] in pyproject.toml (strict on metamodel and dsl).
typecheck: $(STAMP)
	$(BIN)/mypy $(CODE)

imports: $(STAMP)
	$(BIN)/lint-imports

pytest: $(STAMP) audit-deps
	$(BIN)/pytest -q

# graphql-http's GraphQL-over-HTTP audit (tests/api/graphql/test_gql_audit.py): `npm ci` when
# node_modules is missing or older than the lock file. Without npm the test skips (fails under CI=true).
AUDIT := tests/audit
audit-deps: $(AUDIT)/node_modules/.package-lock.json

$(AUDIT)/node_modules/.package-lock.json: $(AUDIT)/package-lock.json $(AUDIT)/package.json
	@if command -v npm >/dev/null 2>&1; then \
	  cd $(AUDIT) && npm ci --no-audit --no-fund && touch node_modules/.package-lock.json; \
	else echo "make: npm not found: the graphql-http audit test cannot run"; fi

bench: $(STAMP)
	@set -e; for f in bench/*.py; do \
	  [ -e "$$f" ] || { echo "no benchmarks in bench/"; break; }; \
	  echo "== $$f"; $(BIN)/python -P "$$f"; \
	done

# Removes the virtualenv, caches and build output; keeps .stagecraft/ (your local database).
clean:
	rm -rf $(VENV) build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache .hypothesis .import_linter_cache
	find . -path ./.git -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
