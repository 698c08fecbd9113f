# llmkit developer tasks. `make install` first; every other target uses .venv.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install generate check test lint bench demo

install:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements/dev.lock -e '.[dev]'

generate:
	$(BIN)/python -m codegen generate

check:
	$(BIN)/python -m codegen check

test:
	$(BIN)/python -m pytest -q --cov --cov-report=term

lint:
	$(BIN)/ruff check llmkit codegen overrides tests
	$(BIN)/mypy --strict llmkit codegen

bench:
	$(BIN)/python -m benchmarks

demo:
	$(BIN)/python -m llmkit.demo
