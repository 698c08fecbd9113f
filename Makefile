# llmkit developer tasks. `make install` first; every other target uses .venv.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install generate check test lint bench demo docs

install:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements/dev.lock -e '.[dev]'

generate:
	$(BIN)/python -m codegen generate

check:
	$(BIN)/python -m codegen check

# coverage starts before pytest loads llmkit's pytest plugin, so import-time lines count too.
test:
	$(BIN)/python -m coverage run -m pytest -q
	$(BIN)/python -m coverage report

lint:
	$(BIN)/ruff check llmkit codegen overrides tests
	$(BIN)/mypy --strict llmkit codegen

bench:
	$(BIN)/python -m benchmarks

demo:
	$(BIN)/python -m llmkit.demo

# The static site, into site/ (gitignored). Installs the pinned `docs` extra on first use; the
# build itself needs no network.
docs:
	@$(BIN)/python -c "import mkdocs" 2>/dev/null || $(BIN)/python -m pip install --quiet -c requirements/dev.lock -e '.[docs]'
	$(BIN)/python -m mkdocs build --clean --strict
