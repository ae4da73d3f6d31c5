# refgen: `make serve` runs the server on the embedded default; `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SERVE_STAMP := $(VENV)/.installed-serve
TEST_STAMP := $(VENV)/.installed-test

.PHONY: serve test lint typecheck bench fuzz clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(SERVE_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

# the test extras include the GPU backends' libraries on the CPU build of torch (pinned in the gpu extra)
$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev,gpu]'
	touch $@ $(SERVE_STAMP)

# speech (`audio: true`) needs espeak-ng: installed here when root, else one line says speech is off
serve: $(SERVE_STAMP)
	bash scripts/install-speech.sh
	$(BIN)/refgen serve

test: $(TEST_STAMP)
	bash scripts/install-test-services.sh
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	REFGEN_TEST_REQUIRE_SERVICES=1 $(BIN)/pytest

lint: $(TEST_STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(TEST_STAMP)
	$(BIN)/mypy

bench: $(TEST_STAMP)
	$(BIN)/python bench/compositor.py
	$(BIN)/python bench/cutout.py
	$(BIN)/python bench/scale.py
	$(BIN)/python bench/speech.py
	$(BIN)/python bench/big_references.py

# the HTTP API against its own OpenAPI document: every schemathesis phase and check, thousands of requests
fuzz: $(TEST_STAMP)
	$(BIN)/python scripts/api_fuzz.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache test-artifacts
