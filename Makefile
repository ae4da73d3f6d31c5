# refgen: `make serve` runs the server on the embedded default; `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SERVE_STAMP := $(VENV)/.installed-serve
TEST_STAMP := $(VENV)/.installed-test
BENCH_STAMP := $(VENV)/.installed-bench

.PHONY: serve test lint typecheck bench fuzz clean

# installs print pip's progress (one line per package): a first install takes a minute or two
$(BIN)/python:
	@echo "make: creating the virtual environment $(VENV)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --progress-bar off --upgrade pip

$(SERVE_STAMP): pyproject.toml | $(BIN)/python
	@echo "make: installing refgen and its dependencies into $(VENV)"
	$(BIN)/pip install --progress-bar off -e .
	touch $@

# the test extras include the GPU backends' libraries on the CPU build of torch (pinned in the gpu extra)
$(TEST_STAMP): pyproject.toml | $(BIN)/python
	@echo "make: installing refgen with the test extras into $(VENV)"
	$(BIN)/pip install --progress-bar off -e '.[dev,gpu]'
	touch $@ $(SERVE_STAMP)

# the benchmarks' own needs (PostgreSQL's driver, scikit-image's sample photos): the bench extra
$(BENCH_STAMP): pyproject.toml | $(BIN)/python
	@echo "make: installing refgen with the bench extra into $(VENV)"
	$(BIN)/pip install --progress-bar off -e '.[bench]'
	touch $@ $(SERVE_STAMP)

# speech (`audio: true`) needs espeak-ng: installed here when root, else one line says speech is off
serve: $(SERVE_STAMP)
	bash scripts/install-speech.sh
	@echo "make: starting refgen serve (REFGEN_PORT=... make serve picks another port)"
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

# scale.py also needs PostgreSQL's server binaries (apt-get install postgresql) or --database-url
bench: $(BENCH_STAMP)
	bash scripts/install-speech.sh
	$(BIN)/python bench/compositor.py
	$(BIN)/python bench/connections.py
	$(BIN)/python bench/cutout.py
	$(BIN)/python bench/scale.py
	$(BIN)/python bench/speech.py
	$(BIN)/python bench/big_references.py

# the HTTP API against its own OpenAPI document: every schemathesis phase and check, thousands of requests
fuzz: $(TEST_STAMP)
	$(BIN)/python scripts/api_fuzz.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache test-artifacts
