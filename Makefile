# Two entry points do all set-up on a fresh machine: `make plan` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
STACK  ?= dev

.PHONY: setup plan test lint typecheck bench dashboards clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==25.3
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

plan: $(STAMP)
	$(BIN)/rayplat plan --stack $(STACK) --json build/plan-$(STACK).json

test: lint typecheck
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m benchmarks

# Ray's Grafana dashboards for the pinned Ray, committed (a test fails when they are stale).
dashboards: $(STAMP)
	$(BIN)/python -m components.kubernetes.observability.ray_dashboards

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache
